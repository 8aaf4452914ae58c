import type Database from 'better-sqlite3';

/** The rows a pipeline run left in its store, as read back for the floor benchmark (store-floor.ts). */
export interface SourceRows {
  /** In commit order (seq). */
  records: Array<{ seq: number; key: string; source: string; stream: string; recordId: string; profileId: string; kind: string; observedAt: string; body: string; links: string }>;
  identifiers: Array<{ key: string; profileId: string }>;
  profiles: Map<string, { createdAt: string; updatedAt: string; body: string }>;
  consent: Array<{ recordKey: string; purpose: string; value: number; observedAt: string; source: string; stream: string; recordId: string; storedAt: string }>;
  /** CREATE statements of the four tables above and their indexes, as the run's store has them. */
  schema: string[];
}

/** One way of laying the rows out: its tables, and how it writes a batch. */
export interface Layout {
  name: string;
  describe: string;
  create(db: Database.Database, rows: SourceRows): void;
  /** Prepare statements and lookups once (after create). */
  prepare(db: Database.Database, rows: SourceRows): LayoutWriter;
}

/**
 * Writes row `i` of `rows.records` / `rows.identifiers` / `rows.consent`, or a profile by id. The
 * parameters are built in `prepare`, before the clock starts: only the statements are timed.
 */
export interface LayoutWriter {
  record(i: number): void;
  identifier(i: number): void;
  profile(id: string): void;
  consent(i: number): void;
}

type Params = unknown[];

function writer(db: Database.Database, sql: { record: string; identifier: string; profile: string; consent: string }, p: {
  records: Params[];
  identifiers: Params[];
  profiles: Map<string, Params>;
  consent: Params[];
}): LayoutWriter {
  const rec = db.prepare(sql.record);
  const idf = db.prepare(sql.identifier);
  const prof = db.prepare(sql.profile);
  const con = db.prepare(sql.consent);
  return {
    record: (i) => rec.run(p.records[i]),
    identifier: (i) => idf.run(p.identifiers[i]),
    profile: (id) => prof.run(p.profiles.get(id)!),
    consent: (i) => con.run(p.consent[i]),
  };
}

/** Today's tables, created with the statements the product's migrations left in the run's own store (`SourceRows.schema`). */
export const current: Layout = {
  name: 'current',
  describe: "today's schema: text keys and profile ids everywhere, ISO times, the record key beside its parts",
  create(db, rows) {
    for (const sql of rows.schema) db.exec(sql);
  },
  prepare(db, rows) {
    return writer(
      db,
      {
        record: `INSERT INTO records (key, source, stream, record_id, profile_id, kind, observed_at, body, links) VALUES (?,?,?,?,?,?,?,?,?)
          ON CONFLICT(key) DO UPDATE SET profile_id = excluded.profile_id, body = excluded.body, links = excluded.links`,
        identifier: 'INSERT INTO identifiers (key, profile_id) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET profile_id = excluded.profile_id',
        profile: `INSERT INTO profiles (id, created_at, updated_at, body) VALUES (?,?,?,?)
          ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, body = excluded.body`,
        consent: 'INSERT OR IGNORE INTO consent_statements (record_key, purpose, value, observed_at, source, stream, record_id, stored_at) VALUES (?,?,?,?,?,?,?,?)',
      },
      {
        records: rows.records.map((r) => [r.key, r.source, r.stream, r.recordId, r.profileId, r.kind, r.observedAt, r.body, r.links]),
        identifiers: rows.identifiers.map((i) => [i.key, i.profileId]),
        profiles: new Map([...rows.profiles].map(([id, p]) => [id, [id, p.createdAt, p.updatedAt, p.body]])),
        consent: rows.consent.map((c) => [c.recordKey, c.purpose, c.value, c.observedAt, c.source, c.stream, c.recordId, c.storedAt]),
      },
    );
  },
};

const KINDS = ['identify', 'track', 'alias', 'delete'];
const ms = (iso: string) => Date.parse(iso);

/**
 * Interned keys: streams and purposes as small integers, profiles referenced by their
 * integer row id (the text id kept once, on the profile row), times as epoch
 * milliseconds, no record key column (its parts are unique together).
 */
function interned(name: string, describe: string, slimProfile: boolean): Layout {
  return {
    name,
    describe,
    create(db) {
      db.exec(`
        CREATE TABLE streams (id INTEGER PRIMARY KEY, source TEXT NOT NULL, stream TEXT NOT NULL, UNIQUE (source, stream));
        CREATE TABLE records (seq INTEGER PRIMARY KEY, stream INTEGER NOT NULL, record_id TEXT NOT NULL, pid INTEGER NOT NULL, kind INTEGER NOT NULL,
          observed_at INTEGER NOT NULL, body TEXT NOT NULL, links TEXT NOT NULL, UNIQUE (stream, record_id));
        CREATE INDEX records_pid ON records(pid);
        CREATE TABLE identifiers (key TEXT PRIMARY KEY, pid INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX identifiers_pid ON identifiers(pid);
        CREATE TABLE profiles (pid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, body TEXT NOT NULL);
        CREATE TABLE consent_statements (seq INTEGER PRIMARY KEY, record INTEGER NOT NULL, purpose INTEGER NOT NULL, value INTEGER NOT NULL,
          observed_at INTEGER NOT NULL, stored_at INTEGER NOT NULL, UNIQUE (record, purpose, observed_at, value));
      `);
    },
    prepare(db, rows) {
      // The ids a store would hand out as rows are created (a counter, as an in-memory graph keeps it).
      const streamIds = new Map<string, number>();
      const pids = new Map<string, number>();
      const seqOf = new Map<string, number>();
      const purposes = new Map<string, number>();
      const addStream = db.prepare('INSERT INTO streams (id, source, stream) VALUES (?, ?, ?)');
      const streamOf = (source: string, stream: string) => {
        const k = `${source}\u0000${stream}`;
        let id = streamIds.get(k);
        if (id === undefined) streamIds.set(k, (id = streamIds.size + 1)), addStream.run(id, source, stream);
        return id;
      };
      const pidOf = (id: string) => {
        let n = pids.get(id);
        if (n === undefined) pids.set(id, (n = pids.size + 1));
        return n;
      };
      const purposeOf = (name: string) => {
        let n = purposes.get(name);
        if (n === undefined) purposes.set(name, (n = purposes.size + 1));
        return n;
      };
      for (const r of rows.records) seqOf.set(r.key, r.seq);
      return writer(
        db,
        {
          record: `INSERT INTO records (seq, stream, record_id, pid, kind, observed_at, body, links) VALUES (?,?,?,?,?,?,?,?)
            ON CONFLICT(stream, record_id) DO UPDATE SET pid = excluded.pid, body = excluded.body, links = excluded.links`,
          identifier: 'INSERT INTO identifiers (key, pid) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET pid = excluded.pid',
          profile: `INSERT INTO profiles (pid, id, created_at, updated_at, body) VALUES (?,?,?,?,?)
            ON CONFLICT(pid) DO UPDATE SET updated_at = excluded.updated_at, body = excluded.body`,
          consent: 'INSERT OR IGNORE INTO consent_statements (record, purpose, value, observed_at, stored_at) VALUES (?,?,?,?,?)',
        },
        {
          records: rows.records.map((r) => [r.seq, streamOf(r.source, r.stream), r.recordId, pidOf(r.profileId), KINDS.indexOf(r.kind), ms(r.observedAt), r.body, r.links]),
          identifiers: rows.identifiers.map((i) => [i.key, pidOf(i.profileId)]),
          profiles: new Map(
            [...rows.profiles].map(([id, p]) => [id, [pidOf(id), id, ms(p.createdAt), ms(p.updatedAt), slimProfile ? slim(p.body, seqOf) : p.body]]),
          ),
          consent: rows.consent.map((c) => [seqOf.get(c.recordKey) ?? 0, purposeOf(c.purpose), c.value, ms(c.observedAt), ms(c.storedAt)]),
        },
      );
    },
  };
}

/**
 * A profile body without what the other tables already hold: its identifier list
 * (the identifiers table, by pid), its sources as record seqs instead of record keys,
 * and their times (each record row has its observedAt). What a reader would then
 * have to join back is the cost this layout moves to reads.
 */
function slim(body: string, seqOf: Map<string, number>): string {
  const b = JSON.parse(body) as Record<string, unknown>;
  delete b.identifiers;
  if (Array.isArray(b.$s)) {
    b.$s = (b.$s as string[]).map((k) => seqOf.get(k) ?? k);
    delete b.$t;
  }
  return JSON.stringify(b);
}

export const LAYOUTS: Layout[] = [
  current,
  interned('interned', 'streams, purposes and profile ids interned as integers, times as epoch ms, no record key column', false),
  interned('interned+slim', 'interned, and profile bodies without their identifier list and with record seqs for sources', true),
];
