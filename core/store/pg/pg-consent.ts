import type { CanonicalRecord } from '../../schema/canonical.js';
import { recordKey } from '../../schema/canonical.js';
import { WITHDRAWN_HASH } from '../../privacy/consent.js';
import type { ConsentExplanation, WithdrawalStatus } from '../types.js';
import { profileOfRow } from '../profile-codec.js';
import type { PgConn } from './pg-conn.js';

type Row = Record<string, unknown>;

/**
 * Consent bookkeeping of the PostgreSQL store: the same tables and meaning as
 * core/store/sqlite-consent.ts (every statement a record made, kept apart from
 * the record; the purpose each destination was last delivered under).
 */
export const CONSENT_PG_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS consent_statements (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  record_key TEXT NOT NULL, purpose TEXT NOT NULL, value INTEGER NOT NULL, observed_at TEXT NOT NULL,
  source TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT NOT NULL, stored_at TEXT NOT NULL,
  UNIQUE (record_key, purpose, observed_at, value)
);
-- Lookups by record_key use the UNIQUE index, whose first column it is; a separate index on it
-- (stores before the seventh session of issue 13) only cost a write per statement and its bytes.
DROP INDEX IF EXISTS consent_statements_record;
CREATE TABLE IF NOT EXISTS consent_destinations (destination TEXT PRIMARY KEY, purpose TEXT);
`;

/** The purpose a destination was last delivered under, and whether one was ever recorded. */
export async function lastPurpose(conn: PgConn, destination: string): Promise<{ purpose?: string } | undefined> {
  const [row] = await conn.q<{ purpose: string | null }>('SELECT purpose FROM consent_destinations WHERE destination = $1', [destination]);
  if (!row) return undefined;
  return row.purpose === null ? {} : { purpose: row.purpose };
}

export async function recordPurpose(conn: PgConn, destination: string, purpose: string | undefined): Promise<void> {
  await conn.q(
    'INSERT INTO consent_destinations(destination, purpose) VALUES ($1, $2) ON CONFLICT (destination) DO UPDATE SET purpose = excluded.purpose',
    [destination, purpose ?? null],
  );
}

/**
 * Store the consent statements of a batch's records in one statement (called
 * inside commitBatch's transaction). A statement already stored (same record,
 * purpose, time and value) is skipped, as INSERT OR IGNORE does on SQLite;
 * seqs follow the records' order.
 */
export async function insertConsentStatements(conn: PgConn, records: CanonicalRecord[], at: string): Promise<void> {
  const cols: [string[], string[], number[], string[], string[], string[], string[]] = [[], [], [], [], [], [], []];
  for (const r of records) {
    if (!r.consent) continue;
    const key = recordKey(r);
    for (const [purpose, value] of Object.entries(r.consent)) {
      cols[0].push(key);
      cols[1].push(purpose);
      cols[2].push(value ? 1 : 0);
      cols[3].push(r.observedAt);
      cols[4].push(r.source);
      cols[5].push(r.stream);
      cols[6].push(r.recordId);
    }
  }
  if (!cols[0].length) return;
  await conn.q(
    `INSERT INTO consent_statements(record_key, purpose, value, observed_at, source, stream, record_id, stored_at)
     SELECT k, p, v, o, s, st, rid, $8 FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
       WITH ORDINALITY AS t(k, p, v, o, s, st, rid, ord)
     ORDER BY ord
     ON CONFLICT (record_key, purpose, observed_at, value) DO NOTHING`,
    [...cols, at],
  );
}

/** Per purpose: the statement that stands on the profile, and every statement of its records. */
export async function explainConsent(conn: PgConn, profileId: string): Promise<ConsentExplanation[]> {
  const [row] = await conn.q('SELECT id, created_at, updated_at, body FROM profiles WHERE id = $1', [profileId]);
  if (row === undefined) return [];
  const cells = (profileOfRow(row) as { aggregates?: { traits?: Record<string, { v: unknown; at: string; src: string }> } }).aggregates?.traits ?? {};
  const rows = await conn.q(
    `SELECT c.purpose, c.value, c.observed_at, c.source, c.stream, c.record_id FROM consent_statements c
     JOIN records r ON r.key = c.record_key WHERE r.profile_id = $1 ORDER BY c.observed_at, c.seq`,
    [profileId],
  );
  const consentCells = Object.entries(cells).filter(([name]) => name.startsWith('consent.'));
  const srcKeys = [...new Set(consentCells.map(([, cell]) => cell.src))];
  const sources = new Map<string, Row>();
  if (srcKeys.length) {
    for (const r of await conn.q('SELECT key, source, stream, record_id FROM records WHERE key = ANY($1::text[])', [srcKeys])) sources.set(r.key as string, r);
  }
  const out: ConsentExplanation[] = [];
  for (const [name, cell] of consentCells) {
    const purpose = name.slice('consent.'.length);
    const r = sources.get(cell.src);
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

/**
 * A profile's value for `consent.<purpose>`: the plain body keeps it under
 * traits.consent, a compact body (profile-codec.ts) only in its aggregate cell,
 * as `[v, ...]` or `{ v }`. JSON null counts as absent (SQLite's json_extract
 * gives SQL NULL for it; jsonb `#>` gives 'null', hence the NULLIFs).
 */
const CONSENT_VALUE = `COALESCE(
  NULLIF(p.body::jsonb #> ARRAY['traits', 'consent', $3::text], 'null'::jsonb),
  NULLIF(p.body::jsonb #> ARRAY['aggregates', 'traits', 'consent.' || $3::text, '0'], 'null'::jsonb),
  NULLIF(p.body::jsonb #> ARRAY['aggregates', 'traits', 'consent.' || $3::text, 'v'], 'null'::jsonb))`;

/** Withdrawals a destination with `purpose` still owes, and those it has made. */
export async function withdrawalStatus(conn: PgConn, destination: string, purpose: string): Promise<WithdrawalStatus> {
  // Granted: true, or 1 (json_extract reads true as 1 on the SQLite side, so a 1 counts there too).
  const [row] = await conn.q<{ pending: string; withdrawn: string }>(
    `SELECT
       (SELECT COUNT(*) FROM delivered d JOIN profiles p ON p.id = d.profile_id
         WHERE d.destination = $1 AND d.hash <> $2 AND COALESCE(${CONSENT_VALUE} IN ('true'::jsonb, '1'::jsonb), false) = false) AS pending,
       (SELECT COUNT(*) FROM delivered WHERE destination = $1 AND hash = $2) AS withdrawn`,
    [destination, WITHDRAWN_HASH, purpose],
  );
  return { pending: Number(row.pending), withdrawn: Number(row.withdrawn) };
}
