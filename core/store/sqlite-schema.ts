import type Database from 'better-sqlite3';
import { compactStoredBodies } from './profile-codec.js';
import { compactStoredRecords } from './record-codec.js';

/**
 * Tables of the embedded store. SCHEMA_SQL is always the newest shape (a new store
 * is created from it); a store written by an older version is brought up to date
 * by the steps in MIGRATIONS. When this changes: bump SCHEMA_VERSION, change
 * SCHEMA_SQL, and add the step that turns version N-1 into N.
 */
export const SCHEMA_VERSION = 5;

/**
 * `to`: the version the step produces; `sql`, then `run`, inside the store's write
 * transaction (`run` for a step SQL alone cannot do, such as re-encoding bodies).
 */
export const MIGRATIONS: ReadonlyArray<{ to: number; sql: string; run?: (db: Database.Database) => void }> = [
  {
    // Who runs a run (pid and host) and when it last said it is alive, so a run
    // whose process died can be told from one still going (issue 8, item 11).
    to: 2,
    sql: `
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN heartbeat_at TEXT;
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
`,
  },
  {
    // Profile bodies in the compact form of profile-codec.ts (about half the bytes) and record
    // links as indexes into the record's identifiers (record-links.ts), issue 13.
    to: 3,
    sql: '',
    run: compactStoredBodies,
  },
  {
    // Record bodies without what the row's columns hold, identifiers as short arrays
    // (record-codec.ts), issue 13.
    to: 4,
    sql: '',
    run: compactStoredRecords,
  },
  {
    // Profile bodies may carry `[v, i]` cells with `$t` and `computed: 0` (profile-codec.ts, issue 13,
    // seventh session). No row changes: this version reads the older bodies as they are. The number
    // is there so that an older Tributary refuses the store instead of misreading those bodies.
    to: 5,
    sql: '',
  },
];

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  observed_at TEXT NOT NULL,
  -- The record without the columns above (record-codec.ts).
  body TEXT NOT NULL,
  -- The identifiers this record links, with the rule: JSON [[identifier key, rule], ...].
  -- Kept on the record row, not in a table of its own: one write per record instead of one per link.
  links TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS records_profile ON records(profile_id);
CREATE TABLE IF NOT EXISTS identifiers (key TEXT PRIMARY KEY, profile_id TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identifiers_profile ON identifiers(profile_id);
CREATE TABLE IF NOT EXISTS presented (
  identifier_key TEXT NOT NULL, profile_id TEXT NOT NULL,
  PRIMARY KEY (identifier_key, profile_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS presented_profile ON presented(profile_id);
-- A rowid table on purpose: profile bodies are ~1 KB, and WITHOUT ROWID tables
-- keep whole rows in the key B-tree, which spills rows that size to overflow pages.
CREATE TABLE IF NOT EXISTS profiles (
  id TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT PRIMARY KEY, profile_id TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_profile ON aliases(profile_id);
CREATE TABLE IF NOT EXISTS merges (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, survivor TEXT NOT NULL, absorbed TEXT NOT NULL,
  record_key TEXT NOT NULL, identifier_key TEXT NOT NULL, rule TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS merges_survivor ON merges(survivor);
CREATE TABLE IF NOT EXISTS refused (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, record_key TEXT NOT NULL, identifier_key TEXT NOT NULL,
  profiles TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refused_record ON refused(record_key);
CREATE TABLE IF NOT EXISTS state (
  sync TEXT NOT NULL, stream TEXT NOT NULL, state TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (sync, stream)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
  destination TEXT NOT NULL, profile_id TEXT NOT NULL, seq INTEGER NOT NULL, merged_from TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (destination, profile_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_seq ON outbox(destination, seq);
CREATE TABLE IF NOT EXISTS dead_letters (
  id INTEGER PRIMARY KEY AUTOINCREMENT, sync TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT,
  origin TEXT, reason TEXT NOT NULL, payload TEXT NOT NULL, at TEXT NOT NULL
);
-- status: running | succeeded | failed | interrupted. summary holds the live counts while running.
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT, status TEXT NOT NULL, summary TEXT, error TEXT,
  pid INTEGER, host TEXT, heartbeat_at TEXT
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
`;

/**
 * Delivery bookkeeping (added without a version bump: every statement is
 * IF NOT EXISTS, so stores written before it simply gain the tables).
 */
export const DELIVERY_SCHEMA_SQL = `
-- What each incremental destination last acknowledged per profile: its own key
-- for it (ref) and a hash of the payload, so unchanged profiles are not sent again.
CREATE TABLE IF NOT EXISTS delivered (
  destination TEXT NOT NULL, profile_id TEXT NOT NULL, ref TEXT NOT NULL, hash TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (destination, profile_id)
) WITHOUT ROWID;
-- Items (profile ids or track record keys) that failed every attempt of a run, until they succeed or are dead-lettered.
CREATE TABLE IF NOT EXISTS delivery_failures (
  destination TEXT NOT NULL, item TEXT NOT NULL, runs INTEGER NOT NULL, first_at TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (destination, item)
) WITHOUT ROWID;
-- Track records to send again (dead letters re-queued), before the event cursor moves on.
CREATE TABLE IF NOT EXISTS event_retry (
  destination TEXT NOT NULL, record_key TEXT NOT NULL,
  PRIMARY KEY (destination, record_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS destinations (
  name TEXT PRIMARY KEY, initialized_at TEXT, disabled TEXT, event_seq INTEGER NOT NULL DEFAULT 0,
  rate_levels TEXT, last_run TEXT
);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, expires_at INTEGER NOT NULL);
`;
