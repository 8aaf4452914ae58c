import Database from 'better-sqlite3';
import { SCHEMA_SQL, DELIVERY_SCHEMA_SQL } from '../../sqlite-schema.js';
import { CONSENT_SCHEMA_SQL } from '../../sqlite-consent.js';
import { FORGET_SCHEMA_SQL, SqlitePrivacyLedger } from '../../sqlite-forget.js';
import { INBOX_SCHEMA_SQL } from '../../sqlite-inbox.js';
import { BLOCKING_SCHEMA_SQL } from '../../sqlite-blocking.js';
import type { PrivacyLedger } from '../../../privacy/forget-types.js';
import type { PgConn } from '../pg-conn.js';
import { CORE_PG_SCHEMA_SQL, migratePg } from '../pg-schema.js';
import { PRIVACY_PG_SCHEMA_SQL, PgPrivacyLedger } from '../pg-privacy.js';
import { BLOCKING_PG_SCHEMA_SQL } from '../pg-blocking.js';
import { fromPgKey, toPgKey } from '../pg-keys.js';
import { testConn } from './pg-test.js';

/**
 * The same scenario against both stores, at ledger/function level: rows are
 * inserted as the store classes would write them, then the SQLite and the
 * PostgreSQL implementation are asked the same questions.
 */

/**
 * Tables of the other PostgreSQL concerns (pgledgers: delivery, consent, inbox),
 * copied from the SQLite DDL for these tests until their files are merged.
 */
export const OTHER_CONCERNS_PG_TEST_SQL = `
CREATE TABLE IF NOT EXISTS delivered (destination TEXT NOT NULL, profile_id TEXT NOT NULL, ref TEXT NOT NULL, hash TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (destination, profile_id));
CREATE TABLE IF NOT EXISTS delivery_failures (destination TEXT NOT NULL, item TEXT NOT NULL, runs INTEGER NOT NULL, first_at TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (destination, item));
CREATE TABLE IF NOT EXISTS event_retry (destination TEXT NOT NULL, record_key TEXT NOT NULL, PRIMARY KEY (destination, record_key));
CREATE TABLE IF NOT EXISTS destinations (name TEXT PRIMARY KEY, initialized_at TEXT, disabled TEXT, event_seq BIGINT NOT NULL DEFAULT 0, rate_levels TEXT, last_run TEXT);
CREATE TABLE IF NOT EXISTS consent_statements (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  record_key TEXT NOT NULL, purpose TEXT NOT NULL, value INTEGER NOT NULL, observed_at TEXT NOT NULL,
  source TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT NOT NULL, stored_at TEXT NOT NULL,
  UNIQUE (record_key, purpose, observed_at, value)
);
CREATE TABLE IF NOT EXISTS inbox (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, source TEXT NOT NULL, stream TEXT NOT NULL, dedup_key TEXT, received_at TEXT NOT NULL, body TEXT NOT NULL);
`;

/** Columns that hold identifier keys: escaped in PostgreSQL (pg-keys.ts). */
const KEY_COLUMNS: Record<string, string> = { identifiers: 'key', presented: 'identifier_key', merges: 'identifier_key', refused: 'identifier_key' };

type Row = Record<string, unknown>;

export interface Side {
  name: 'sqlite' | 'postgres';
  privacy: PrivacyLedger;
  /** The PostgreSQL connection (undefined for SQLite). */
  conn?: PgConn;
  db?: Database.Database;
  insert(table: string, row: Row): Promise<void>;
  /** Rows of a table, key columns decoded, in insertion order. */
  rows(table: string, where?: string): Promise<Row[]>;
  /** Every value of every table as one text, for a search that cannot miss a copy. */
  allText(except?: string[]): Promise<string>;
  close(): Promise<void>;
}

export function sqliteSide(): Side {
  const db = new Database(':memory:');
  for (const sql of [SCHEMA_SQL, DELIVERY_SCHEMA_SQL, CONSENT_SCHEMA_SQL, FORGET_SCHEMA_SQL, INBOX_SCHEMA_SQL, BLOCKING_SCHEMA_SQL]) db.exec(sql);
  const tables = () => db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  return {
    name: 'sqlite',
    db,
    privacy: new SqlitePrivacyLedger(db, async (fn) => fn()),
    async insert(table, row) {
      const cols = Object.keys(row);
      db.prepare(`INSERT INTO ${table}(${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => row[c]));
    },
    async rows(table, where) {
      const sql = `SELECT * FROM ${table}${where ? ` WHERE ${where}` : ''}`;
      // WITHOUT ROWID tables have no rowid: their key order then.
      const withoutRowid = /WITHOUT ROWID/i.test((db.prepare("SELECT sql FROM sqlite_master WHERE name = ?").pluck().get(table) as string) ?? '');
      return db.prepare(withoutRowid ? sql : `${sql} ORDER BY rowid`).all() as Row[];
    },
    async allText(except = []) {
      return tables()
        .filter((t) => !except.includes(t))
        .map((t) => JSON.stringify(db.prepare(`SELECT * FROM ${t}`).all()))
        .join('\n');
    },
    async close() {
      db.close();
    },
  };
}

export async function postgresSide(tag: string): Promise<Side> {
  const { conn, schema, drop } = testConn(tag);
  await migratePg(conn, [CORE_PG_SCHEMA_SQL, PRIVACY_PG_SCHEMA_SQL, BLOCKING_PG_SCHEMA_SQL, OTHER_CONCERNS_PG_TEST_SQL]);
  const order = async (table: string) => {
    const cols = await conn.q<{ c: string }>("SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND is_identity = 'YES'", [schema, table]);
    return cols[0] ? ` ORDER BY ${cols[0].c}` : '';
  };
  return {
    name: 'postgres',
    conn,
    privacy: new PgPrivacyLedger(conn),
    async insert(table, row) {
      const cols = Object.keys(row);
      const values = cols.map((c) => (KEY_COLUMNS[table] === c ? toPgKey(String(row[c])) : row[c]));
      await conn.q(`INSERT INTO ${table}(${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, values);
    },
    async rows(table, where) {
      const rows = await conn.q<Row>(`SELECT * FROM ${table}${where ? ` WHERE ${where}` : ''}${await order(table)}`);
      const kc = KEY_COLUMNS[table];
      // bigint columns come back as text: numbers, as better-sqlite3 gives them.
      return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === kc ? fromPgKey(String(v)) : /^(seq|id|request_id|event_seq)$/.test(k) && typeof v === 'string' ? Number(v) : v])));
    },
    async allText(except = []) {
      const tables = (await conn.q<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1', [schema])).map((r) => r.t);
      const out: string[] = [];
      for (const t of tables.filter((x) => !except.includes(x))) out.push(JSON.stringify(await conn.q(`SELECT * FROM ${t}`)));
      return out.map(fromPgKey).join('\n');
    },
    close: drop,
  };
}

/** Both stores, for `describe.each`. */
export const SIDES: Array<[string, (tag: string) => Promise<Side>]> = [
  ['sqlite', async () => sqliteSide()],
  ['postgres', postgresSide],
];
