import { ConnectionError } from '../../errors.js';
import type { PgConn } from './pg-conn.js';

/**
 * Tables of the PostgreSQL store. The same tables and columns as the SQLite
 * store's (core/store/sqlite-schema.ts), so the two read alike: times are ISO
 * text, bodies the same text the SQLite store writes (profile-codec.ts,
 * record-links.ts), sequences identity columns. Each concern keeps its own
 * tables in its own file (`*_PG_SCHEMA_SQL`); `migratePg` runs all of them.
 *
 * When a table changes: bump PG_SCHEMA_VERSION and add the step to PG_MIGRATIONS;
 * new tables need no step (CREATE ... IF NOT EXISTS runs every start).
 */
export const PG_SCHEMA_VERSION = 2;

export const PG_MIGRATIONS: ReadonlyArray<{ to: number; sql: string }> = [
  // 2: profile bodies may carry `[v, i]` cells with `$t` and `computed: 0` (profile-codec.ts). No row changes;
  // the number makes an older Tributary refuse the store instead of misreading them. Workers of an older
  // version must be stopped before one of this version starts (docs/scaling.md).
  { to: 2, sql: '' },
];

export const CORE_PG_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  observed_at TEXT NOT NULL,
  body TEXT NOT NULL,
  links TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS records_profile ON records(profile_id);
CREATE TABLE IF NOT EXISTS identifiers (key TEXT PRIMARY KEY, profile_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS identifiers_profile ON identifiers(profile_id);
CREATE TABLE IF NOT EXISTS presented (
  identifier_key TEXT NOT NULL, profile_id TEXT NOT NULL,
  PRIMARY KEY (identifier_key, profile_id)
);
CREATE INDEX IF NOT EXISTS presented_profile ON presented(profile_id);
CREATE TABLE IF NOT EXISTS profiles (
  id TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT PRIMARY KEY, profile_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS aliases_profile ON aliases(profile_id);
CREATE TABLE IF NOT EXISTS merges (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, survivor TEXT NOT NULL, absorbed TEXT NOT NULL,
  record_key TEXT NOT NULL, identifier_key TEXT NOT NULL, rule TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS merges_survivor ON merges(survivor);
CREATE TABLE IF NOT EXISTS refused (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, record_key TEXT NOT NULL, identifier_key TEXT NOT NULL,
  profiles TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refused_record ON refused(record_key);
CREATE TABLE IF NOT EXISTS state (
  sync TEXT NOT NULL, stream TEXT NOT NULL, state TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (sync, stream)
);
-- Outbox seqs come from a sequence (the SQLite store keeps a counter in meta under its write lock).
CREATE SEQUENCE IF NOT EXISTS outbox_seq_gen;
CREATE TABLE IF NOT EXISTS outbox (
  destination TEXT NOT NULL, profile_id TEXT NOT NULL, seq BIGINT NOT NULL, merged_from TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (destination, profile_id)
);
CREATE INDEX IF NOT EXISTS outbox_seq ON outbox(destination, seq);
CREATE TABLE IF NOT EXISTS dead_letters (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sync TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT,
  origin TEXT, reason TEXT NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT, status TEXT NOT NULL, summary TEXT, error TEXT,
  pid INTEGER, host TEXT, heartbeat_at TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
`;

/** Advisory lock keys (pg_advisory_*lock(hashtextextended(name, 0))): one name per purpose. */
export const LOCK_MIGRATE = 'tributary:migrate';

/**
 * Create the tables, or bring an older store up to PG_SCHEMA_VERSION, in one
 * transaction under an advisory lock: two workers starting at once on an empty
 * database would otherwise race on CREATE TABLE IF NOT EXISTS (the second
 * fails with a unique violation on pg_type) and on the migration steps.
 * `parts`: the DDL of every concern (CORE_PG_SCHEMA_SQL first).
 */
export async function migratePg(conn: PgConn, parts: string[]): Promise<void> {
  if (conn.schema) {
    // CREATE SCHEMA IF NOT EXISTS races too; take the lock on a connection of its own first.
    await conn.tx(async () => {
      await conn.q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [LOCK_MIGRATE]);
      await conn.q(`CREATE SCHEMA IF NOT EXISTS ${conn.schema}`);
    });
  }
  await conn.tx(async () => {
    await conn.q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [LOCK_MIGRATE]);
    const hasMeta = await conn.q<{ t: string | null }>("SELECT to_regclass('meta')::text AS t");
    let version: number | undefined;
    if (hasMeta[0]?.t) {
      const row = await conn.q<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'");
      version = row[0] ? Number(row[0].value) : undefined;
    }
    if (version !== undefined && (!Number.isInteger(version) || version > PG_SCHEMA_VERSION)) {
      throw new ConnectionError(
        `PostgreSQL store ${conn.label}${conn.schema ? ` schema ${conn.schema}` : ''} was written by a newer Tributary (schema ${version}; this one knows up to ${PG_SCHEMA_VERSION})`,
        {},
        { retryable: false },
      );
    }
    if (version !== undefined) for (const step of PG_MIGRATIONS) if (step.to > version && step.sql) await conn.q(step.sql);
    for (const sql of parts) await conn.q(sql);
    await conn.q(
      "INSERT INTO meta(key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      [String(PG_SCHEMA_VERSION)],
    );
  });
}
