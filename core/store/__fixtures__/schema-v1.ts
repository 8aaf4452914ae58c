/** The store schema as version 1 wrote it, verbatim: migration tests create an old store from it. */
export const SCHEMA_V1_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  source TEXT NOT NULL, stream TEXT NOT NULL, record_id TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  observed_at TEXT NOT NULL,
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
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT, status TEXT NOT NULL, summary TEXT, error TEXT
);
`;
