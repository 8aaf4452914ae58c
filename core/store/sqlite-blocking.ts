import type Database from 'better-sqlite3';
import type { ProbabilisticLink, StoredMatchModel, StoredRecord } from '../resolution/types.js';
import { decodeRecord, RECORD_COLUMNS } from './record-codec.js';

/**
 * Blocking keys, probabilistic links and match models, for resolvers that compare
 * records. Keys are indexed so a batch finds its candidates by key, never by scan.
 * Every function takes the store's connection and is synchronous: a lookup made
 * while `exclusive` holds the write transaction gives the event loop no turn, so
 * no other work of the process (a delivery acking its outbox) can slip into it.
 */
export const BLOCKING_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS blocking_keys (
  key TEXT NOT NULL, record_key TEXT NOT NULL,
  PRIMARY KEY (key, record_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocking_keys_record ON blocking_keys(record_key);
CREATE TABLE IF NOT EXISTS probabilistic_links (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, record_key TEXT NOT NULL, other_record_key TEXT NOT NULL,
  probability REAL NOT NULL, model_version INTEGER NOT NULL, evidence TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS probabilistic_links_record ON probabilistic_links(record_key);
CREATE INDEX IF NOT EXISTS probabilistic_links_other ON probabilistic_links(other_record_key);
CREATE TABLE IF NOT EXISTS match_models (
  resolver TEXT NOT NULL, version INTEGER NOT NULL, trained_at TEXT NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (resolver, version)
);
`;

type Row = Record<string, unknown>;

export function candidatesByBlockingKey(db: Database.Database, keys: string[], perKey: number): Map<string, StoredRecord[]> {
  const keysOf = db.prepare(
    `SELECT b.record_key FROM blocking_keys b JOIN records r ON r.key = b.record_key
     WHERE b.key = ? ORDER BY r.seq DESC LIMIT ?`,
  ).pluck();
  const body = db.prepare(`SELECT profile_id, ${RECORD_COLUMNS} FROM records WHERE key = ?`);
  // A record filed under several of the batch's keys is read and parsed once.
  const parsed = new Map<string, StoredRecord>();
  const out = new Map<string, StoredRecord[]>();
  for (const k of new Set(keys)) {
    const list: StoredRecord[] = [];
    for (const rk of keysOf.all(k, perKey) as string[]) {
      let rec = parsed.get(rk);
      if (!rec) {
        const row = body.get(rk) as Row | undefined;
        if (!row) continue;
        rec = { ...decodeRecord(row), profileId: row.profile_id as string };
        parsed.set(rk, rec);
      }
      list.push(rec);
    }
    if (list.length) out.set(k, list);
  }
  return out;
}

/** Called inside the batch's transaction: a record read again replaces its keys. */
export function saveBlockingKeys(db: Database.Database, entries: Array<[string, string[]]>): void {
  const del = db.prepare('DELETE FROM blocking_keys WHERE record_key = ?');
  const ins = db.prepare('INSERT OR IGNORE INTO blocking_keys(key, record_key) VALUES (?, ?)');
  for (const [recordKey, keys] of entries) {
    del.run(recordKey);
    for (const k of keys) ins.run(k, recordKey);
  }
}

/** Called inside the batch's transaction. */
export function saveProbabilisticLinks(db: Database.Database, links: ProbabilisticLink[]): void {
  const ins = db.prepare('INSERT INTO probabilistic_links(record_key, other_record_key, probability, model_version, evidence, at) VALUES (?, ?, ?, ?, ?, ?)');
  for (const l of links) ins.run(l.recordKey, l.otherRecordKey, l.probability, l.modelVersion, JSON.stringify(l.evidence), l.at);
}

/** Every stored probabilistic link, oldest first (a rebuild reads its scratch store's). */
export function allProbabilisticLinks(db: Database.Database): ProbabilisticLink[] {
  return (db.prepare('SELECT * FROM probabilistic_links ORDER BY seq').all() as Row[]).map(linkOfRow);
}

/** Called inside replaceResolution's transaction: the links of the previous partition go, the rebuild's stay. */
export function replaceProbabilisticLinks(db: Database.Database, links: ProbabilisticLink[]): void {
  db.exec('DELETE FROM probabilistic_links');
  saveProbabilisticLinks(db, links);
}

function linkOfRow(r: Row): ProbabilisticLink {
  return {
    recordKey: r.record_key as string,
    otherRecordKey: r.other_record_key as string,
    probability: Number(r.probability),
    modelVersion: Number(r.model_version),
    evidence: JSON.parse(r.evidence as string) as ProbabilisticLink['evidence'],
    at: r.at as string,
  };
}

/** The probabilistic links that touch any record of this profile, newest first. */
export function probabilisticLinksOfProfile(db: Database.Database, profileId: string): ProbabilisticLink[] {
  const rows = db
    .prepare(
      `SELECT l.* FROM probabilistic_links l WHERE l.record_key IN (SELECT key FROM records WHERE profile_id = ?)
         OR l.other_record_key IN (SELECT key FROM records WHERE profile_id = ?) ORDER BY l.seq DESC`,
    )
    .all(profileId, profileId) as Row[];
  return rows.map(linkOfRow);
}

/** Saves the next version of a resolver's model; returns that version. */
export function saveMatchModel(db: Database.Database, resolver: string, trainedAt: string, body: (version: number) => string): number {
  return db.transaction(() => {
    const version = Number(db.prepare('SELECT COALESCE(MAX(version), 0) FROM match_models WHERE resolver = ?').pluck().get(resolver)) + 1;
    db.prepare('INSERT INTO match_models(resolver, version, trained_at, body) VALUES (?, ?, ?, ?)').run(resolver, version, trainedAt, body(version));
    return version;
  })();
}

export function latestMatchModel(db: Database.Database, resolver: string): StoredMatchModel | undefined {
  const row = db.prepare('SELECT * FROM match_models WHERE resolver = ? ORDER BY version DESC LIMIT 1').get(resolver) as Row | undefined;
  return row ? { resolver, version: Number(row.version), trainedAt: row.trained_at as string, body: row.body as string } : undefined;
}
