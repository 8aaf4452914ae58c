import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CanonicalRecord } from '../../../schema/canonical.js';
import type { ConsentExplanation, DeadLetterInput, DeliveryLedger } from '../../types.js';
import { SqliteStore } from '../../sqlite-store.js';
import * as sqliteConsent from '../../sqlite-consent.js';
import { CORE_PG_SCHEMA_SQL, migratePg } from '../pg-schema.js';
import { DELIVERY_PG_SCHEMA_SQL, PgDeliveryLedger } from '../pg-delivery.js';
import { CONSENT_PG_SCHEMA_SQL, explainConsent, insertConsentStatements } from '../pg-consent.js';
import { INBOX_PG_SCHEMA_SQL } from '../pg-inbox.js';
import type { PgConn } from '../pg-conn.js';
import { testConn } from './pg-test.js';

/**
 * One delivery ledger and the store tables under it, on either store, so a
 * ledger scenario runs against both. Fixture rows (profiles, records, aliases,
 * dead letters) are written with SQL both dialects read alike (`?` placeholders,
 * numbered for PostgreSQL), as the store class would have written them.
 */
export interface LedgerBackend {
  kind: 'sqlite' | 'postgres';
  ledger: DeliveryLedger;
  exec(sql: string, params?: unknown[]): Promise<void>;
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  insertConsent(records: CanonicalRecord[], at: string): Promise<void>;
  explainConsent(profileId: string): Promise<ConsentExplanation[]>;
  /** PostgreSQL only: the connection (for concurrency tests). */
  conn?: PgConn;
  close(): Promise<void>;
}

const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

/** What the PostgreSQL store hands the ledger: dead letters inserted on the same connection (and so the same transaction). */
export function pgDeadLetterWriter(conn: PgConn) {
  return async (dl: DeadLetterInput, at: string) => {
    await conn.q('INSERT INTO dead_letters(sync, stream, record_id, origin, reason, payload, at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      dl.sync,
      dl.stream,
      dl.recordId ?? null,
      dl.origin ?? null,
      dl.reason,
      JSON.stringify(dl.payload ?? null),
      at,
    ]);
  };
}

export async function openPgBackend(tag: string): Promise<LedgerBackend> {
  const { conn, drop } = testConn(tag, { max: 12 });
  await migratePg(conn, [CORE_PG_SCHEMA_SQL, DELIVERY_PG_SCHEMA_SQL, CONSENT_PG_SCHEMA_SQL, INBOX_PG_SCHEMA_SQL]);
  return {
    kind: 'postgres',
    conn,
    ledger: new PgDeliveryLedger(conn, { insertDeadLetter: pgDeadLetterWriter(conn) }),
    exec: async (sql, params = []) => void (await conn.q(numbered(sql), params)),
    all: async <T>(sql: string, params: unknown[] = []) => (await conn.q(numbered(sql), params)) as T[],
    insertConsent: (records, at) => conn.tx(() => insertConsentStatements(conn, records, at)),
    explainConsent: (id) => explainConsent(conn, id),
    close: drop,
  };
}

export async function openSqliteBackend(): Promise<LedgerBackend> {
  const dir = mkdtempSync(join(tmpdir(), `trib-ledger-${process.pid}-`));
  const file = join(dir, 'store.db');
  const store = new SqliteStore(file);
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  return {
    kind: 'sqlite',
    ledger: store.delivery,
    exec: async (sql, params = []) => void db.prepare(sql).run(...params),
    all: async <T>(sql: string, params: unknown[] = []) => db.prepare(sql).all(...params) as T[],
    insertConsent: async (records, at) => db.transaction(() => sqliteConsent.insertConsentStatements(db, records, at))(),
    explainConsent: async (id) => sqliteConsent.explainConsent(db, id),
    close: async () => {
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** For `describe.each`: both stores, by name. */
export const BACKENDS: Array<[string, (tag: string) => Promise<LedgerBackend>]> = [
  ['sqlite', () => openSqliteBackend()],
  ['postgres', (tag) => openPgBackend(tag)],
];
