import type { ProbabilisticLink, StoredMatchModel, StoredRecord } from '../../resolution/types.js';
import type { PgConn } from './pg-conn.js';
import { chunks, xactLock } from './pg-sql.js';

/**
 * Blocking keys, probabilistic links and match models (port of sqlite-blocking.ts),
 * for resolvers that compare records. A batch finds its candidates by key in one
 * statement (LATERAL per key), and writes its keys and links as multi-row statements.
 * Each function runs on the caller's transaction when there is one (PgConn.tx).
 */
export const BLOCKING_PG_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS blocking_keys (
  key TEXT NOT NULL, record_key TEXT NOT NULL,
  PRIMARY KEY (key, record_key)
);
CREATE INDEX IF NOT EXISTS blocking_keys_record ON blocking_keys(record_key);
CREATE TABLE IF NOT EXISTS probabilistic_links (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, record_key TEXT NOT NULL, other_record_key TEXT NOT NULL,
  probability DOUBLE PRECISION NOT NULL, model_version INTEGER NOT NULL, evidence TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS probabilistic_links_record ON probabilistic_links(record_key);
CREATE INDEX IF NOT EXISTS probabilistic_links_other ON probabilistic_links(other_record_key);
CREATE TABLE IF NOT EXISTS match_models (
  resolver TEXT NOT NULL, version INTEGER NOT NULL, trained_at TEXT NOT NULL, body TEXT NOT NULL,
  PRIMARY KEY (resolver, version)
);
`;

type Row = Record<string, unknown>;

/** Per key (in the order given, each once), its newest `perKey` records; keys with none are left out. */
export async function candidatesByBlockingKey(conn: PgConn, keys: string[], perKey: number): Promise<Map<string, StoredRecord[]>> {
  const unique = [...new Set(keys)];
  const out = new Map<string, StoredRecord[]>();
  if (!unique.length) return out;
  const rows = await conn.q<{ bkey: string; key: string; profile_id: string; body: string }>(
    `SELECT k.key AS bkey, r.key, r.profile_id, r.body
     FROM unnest($1::text[]) WITH ORDINALITY AS k(key, ord)
     CROSS JOIN LATERAL (
       SELECT r.key, r.profile_id, r.body, r.seq FROM blocking_keys b JOIN records r ON r.key = b.record_key
       WHERE b.key = k.key ORDER BY r.seq DESC LIMIT $2
     ) r
     ORDER BY k.ord, r.seq DESC`,
    [unique, perKey],
  );
  // A record filed under several of the batch's keys is parsed once.
  const parsed = new Map<string, StoredRecord>();
  for (const row of rows) {
    let rec = parsed.get(row.key);
    if (!rec) parsed.set(row.key, (rec = { ...(JSON.parse(row.body) as StoredRecord), profileId: row.profile_id }));
    let list = out.get(row.bkey);
    if (!list) out.set(row.bkey, (list = []));
    list.push(rec);
  }
  return out;
}

/** Called inside the batch's transaction: a record read again replaces its keys (the last entry for a record wins). */
export async function saveBlockingKeys(conn: PgConn, entries: Array<[string, string[]]>): Promise<void> {
  if (!entries.length) return;
  const last = new Map<string, string[]>();
  for (const [recordKey, keys] of entries) last.set(recordKey, keys);
  await conn.tx(async () => {
    for (const part of chunks([...last.keys()])) await conn.q('DELETE FROM blocking_keys WHERE record_key = ANY($1::text[])', [part]);
    const pairs: Array<[string, string]> = [];
    for (const [recordKey, keys] of last) for (const k of keys) pairs.push([k, recordKey]);
    for (const part of chunks(pairs)) {
      await conn.q('INSERT INTO blocking_keys(key, record_key) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [
        part.map((p) => p[0]),
        part.map((p) => p[1]),
      ]);
    }
  });
}

/** Called inside the batch's transaction; links keep their order (seq). */
export async function saveProbabilisticLinks(conn: PgConn, links: ProbabilisticLink[]): Promise<void> {
  for (const part of chunks(links)) {
    await conn.q(
      `INSERT INTO probabilistic_links(record_key, other_record_key, probability, model_version, evidence, at)
       SELECT a, b, p, v, e, t FROM unnest($1::text[], $2::text[], $3::float8[], $4::int[], $5::text[], $6::text[]) WITH ORDINALITY AS u(a, b, p, v, e, t, ord)
       ORDER BY ord`,
      [
        part.map((l) => l.recordKey),
        part.map((l) => l.otherRecordKey),
        part.map((l) => l.probability),
        part.map((l) => l.modelVersion),
        part.map((l) => JSON.stringify(l.evidence)),
        part.map((l) => l.at),
      ],
    );
  }
}

/** Every stored probabilistic link, oldest first (a rebuild reads its scratch store's). */
export async function allProbabilisticLinks(conn: PgConn): Promise<ProbabilisticLink[]> {
  return (await conn.q<Row>('SELECT * FROM probabilistic_links ORDER BY seq')).map(linkOfRow);
}

/** Called inside replaceResolution's transaction: the links of the previous partition go, the rebuild's stay. */
export async function replaceProbabilisticLinks(conn: PgConn, links: ProbabilisticLink[]): Promise<void> {
  await conn.tx(async () => {
    await conn.q('DELETE FROM probabilistic_links');
    await saveProbabilisticLinks(conn, links);
  });
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
export async function probabilisticLinksOfProfile(conn: PgConn, profileId: string): Promise<ProbabilisticLink[]> {
  const rows = await conn.q<Row>(
    `SELECT l.* FROM probabilistic_links l WHERE l.record_key IN (SELECT key FROM records WHERE profile_id = $1)
       OR l.other_record_key IN (SELECT key FROM records WHERE profile_id = $1) ORDER BY l.seq DESC`,
    [profileId],
  );
  return rows.map(linkOfRow);
}

/** Saves the next version of a resolver's model; returns that version. Two workers training at once get two versions. */
export async function saveMatchModel(conn: PgConn, resolver: string, trainedAt: string, body: (version: number) => string): Promise<number> {
  return conn.tx(async () => {
    // Without it two transactions read the same MAX(version) and the second fails on the primary key.
    await xactLock(conn, `tributary:match-model:${resolver}`);
    const [{ v }] = await conn.q<{ v: number }>('SELECT COALESCE(MAX(version), 0)::int AS v FROM match_models WHERE resolver = $1', [resolver]);
    const version = v + 1;
    await conn.q('INSERT INTO match_models(resolver, version, trained_at, body) VALUES ($1, $2, $3, $4)', [resolver, version, trainedAt, body(version)]);
    return version;
  });
}

export async function latestMatchModel(conn: PgConn, resolver: string): Promise<StoredMatchModel | undefined> {
  const [row] = await conn.q<Row>('SELECT * FROM match_models WHERE resolver = $1 ORDER BY version DESC LIMIT 1', [resolver]);
  return row ? { resolver, version: Number(row.version), trainedAt: row.trained_at as string, body: row.body as string } : undefined;
}
