import type Database from 'better-sqlite3';
import type { CanonicalRecord } from '../schema/canonical.js';
import { recordKey } from '../schema/canonical.js';
import { WITHDRAWN_HASH } from '../privacy/consent.js';
import type { ConsentExplanation, WithdrawalStatus } from './types.js';
import { profileOfRow } from './profile-codec.js';

type Row = Record<string, unknown>;

/**
 * Every consent statement a record made, kept apart from the record so that a
 * record read again with another value adds to the history instead of
 * rewriting it. The profile a statement belongs to is its record's profile
 * (a merge moves the records, and with them the statements). Added without a
 * schema version bump: IF NOT EXISTS, run where the store opens.
 */
export const CONSENT_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS consent_statements (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  record_key TEXT NOT NULL, purpose TEXT NOT NULL, value INTEGER NOT NULL, observed_at TEXT NOT NULL,
  source TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT NOT NULL, stored_at TEXT NOT NULL,
  UNIQUE (record_key, purpose, observed_at, value)
);
-- Lookups by record_key use the UNIQUE index, whose first column it is; a separate index on it
-- (stores before the seventh session of issue 13) only cost a write per statement and its bytes.
DROP INDEX IF EXISTS consent_statements_record;
-- The purpose each destination was last delivered under (NULL: none), to notice a purpose added, changed or removed.
CREATE TABLE IF NOT EXISTS consent_destinations (destination TEXT PRIMARY KEY, purpose TEXT);
`;

/** The purpose a destination was last delivered under, and whether one was ever recorded. */
export function lastPurpose(db: Database.Database, destination: string): { purpose?: string } | undefined {
  const row = db.prepare('SELECT purpose FROM consent_destinations WHERE destination = ?').get(destination) as Row | undefined;
  if (!row) return undefined;
  return row.purpose === null ? {} : { purpose: row.purpose as string };
}

export function recordPurpose(db: Database.Database, destination: string, purpose: string | undefined): void {
  db.prepare('INSERT OR REPLACE INTO consent_destinations(destination, purpose) VALUES (?, ?)').run(destination, purpose ?? null);
}

export const CONSENT_INSERT_SQL = `INSERT OR IGNORE INTO consent_statements(record_key, purpose, value, observed_at, source, stream, record_id, stored_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;

const inserts = new WeakMap<Database.Database, Database.Statement>();

/** Store the consent statements of a batch's records. Called inside the batch's transaction. */
export function insertConsentStatements(db: Database.Database, records: CanonicalRecord[], at: string): void {
  let stmt = inserts.get(db);
  if (!stmt) {
    stmt = db.prepare(CONSENT_INSERT_SQL);
    inserts.set(db, stmt);
  }
  for (const r of records) {
    if (!r.consent) continue;
    const key = recordKey(r);
    for (const [purpose, value] of Object.entries(r.consent)) stmt.run(key, purpose, value ? 1 : 0, r.observedAt, r.source, r.stream, r.recordId, at);
  }
}

/** Per purpose: the statement that stands on the profile, and every statement of its records. */
export function explainConsent(db: Database.Database, profileId: string): ConsentExplanation[] {
  const row = db.prepare('SELECT id, created_at, updated_at, body FROM profiles WHERE id = ?').get(profileId) as Row | undefined;
  if (row === undefined) return [];
  const cells = ((profileOfRow(row) as { aggregates?: { traits?: Record<string, { v: unknown; at: string; src: string }> } }).aggregates?.traits ?? {});
  const rows = db
    .prepare(
      `SELECT c.purpose, c.value, c.observed_at, c.source, c.stream, c.record_id FROM consent_statements c
       JOIN records r ON r.key = c.record_key WHERE r.profile_id = ? ORDER BY c.observed_at, c.seq`,
    )
    .all(profileId) as Row[];
  const record = db.prepare('SELECT source, stream, record_id FROM records WHERE key = ?');
  const out: ConsentExplanation[] = [];
  for (const [name, cell] of Object.entries(cells)) {
    if (!name.startsWith('consent.')) continue;
    const purpose = name.slice('consent.'.length);
    const r = record.get(cell.src) as Row | undefined;
    out.push({
      purpose,
      value: cell.v === true,
      from: { source: (r?.source as string) ?? cell.src, stream: (r?.stream as string) ?? '', recordId: (r?.record_id as string) ?? '', at: cell.at },
      history: rows
        .filter((h) => h.purpose === purpose)
        .map((h) => ({ value: h.value === 1, source: h.source as string, stream: h.stream as string, recordId: h.record_id as string, at: h.observed_at as string })),
    });
  }
  return out.sort((a, b) => a.purpose.localeCompare(b.purpose));
}

/** Withdrawals a destination with `purpose` still owes, and those it has made. */
export function withdrawalStatus(db: Database.Database, destination: string, purpose: string): WithdrawalStatus {
  const pending = db
    .prepare(
      `SELECT COUNT(*) FROM delivered d JOIN profiles p ON p.id = d.profile_id
       WHERE d.destination = ? AND d.hash != ? AND COALESCE(
         json_extract(p.body, '$.traits.consent.' || ?),
         json_extract(p.body, '$.aggregates.traits."consent.' || ? || '"[0]'),
         json_extract(p.body, '$.aggregates.traits."consent.' || ? || '".v'), 0) != 1`,
    )
    .pluck()
    // A compact profile body (profile-codec.ts) keeps the value only in its aggregate cell.
    .get(destination, WITHDRAWN_HASH, purpose, purpose, purpose);
  const withdrawn = db.prepare('SELECT COUNT(*) FROM delivered WHERE destination = ? AND hash = ?').pluck().get(destination, WITHDRAWN_HASH);
  return { pending: Number(pending), withdrawn: Number(withdrawn) };
}
