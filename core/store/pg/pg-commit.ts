import type { CanonicalRecord } from '../../schema/canonical.js';
import { recordKey } from '../../schema/canonical.js';
import type { MergeEvent, ProbabilisticLink } from '../../resolution/types.js';
import { fault } from '../../util/fault-points.js';
import { encodeProfile } from '../profile-codec.js';
import { encodeLinks } from '../record-links.js';
import { linksByRecord } from '../sqlite-replace.js';
import type { BatchCommit, DeadLetterInput } from '../types.js';
import type { PgConn } from './pg-conn.js';
import { toPgKey } from './pg-keys.js';
import { OutboxPlan } from './pg-outbox.js';

/** Writes of other concerns that join the batch's transaction (consent statements, blocking keys, probabilistic links). */
export interface CommitHooks {
  consent?(records: CanonicalRecord[], at: string): Promise<void>;
  blockingKeys?(entries: Array<[string, string[]]>): Promise<void>;
  probabilisticLinks?(links: ProbabilisticLink[]): Promise<void>;
}

/**
 * One batch in one transaction (joined to `exclusive`'s when called inside it),
 * with one statement per table (unnest of text arrays) rather than one per row.
 * The rows written are those SqliteStore.commitBatch writes for the same batch;
 * the outbox is worked out in memory first (pg-outbox.ts) so that its rows too
 * are written in one go.
 */
export async function commitBatchPg(conn: PgConn, batch: BatchCommit, hooks: CommitHooks): Promise<void> {
  const res = batch.resolution;
  const now = new Date().toISOString();
  await conn.tx(async () => {
    const outbox = await OutboxPlan.load(conn, batch.destinations, [
      ...res.merges.flatMap((m) => [m.absorbed, m.survivor]),
      ...res.profiles.map((p) => p.id),
    ]);
    if (res.merges.length) {
      await applyMerges(conn, res.merges);
      for (const m of res.merges) outbox.merge(m.survivor, m.absorbed);
    }
    await upsertRecords(conn, batch);
    if (hooks.consent) await hooks.consent(batch.records, now);
    fault('pgcommit.after-records');
    // A record read again replaces its refusals rather than adding the same ones once more.
    const reread = res.reread ?? batch.records.map(recordKey);
    if (reread.length) await conn.q('DELETE FROM refused WHERE record_key = ANY($1::text[])', [reread]);
    if (res.identifierOwners.size) {
      await conn.q(
        `INSERT INTO identifiers(key, profile_id) SELECT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT (key) DO UPDATE SET profile_id = excluded.profile_id`,
        [[...res.identifierOwners.keys()].map(toPgKey), [...res.identifierOwners.values()]],
      );
    }
    if (res.presented.length) {
      const pairs = new Map(res.presented.map(([k, p]) => [`${p}\u0000${k}`, [toPgKey(k), p] as const]));
      await conn.q('INSERT INTO presented(identifier_key, profile_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', [
        [...pairs.values()].map((x) => x[0]),
        [...pairs.values()].map((x) => x[1]),
      ]);
    }
    if (res.refused.length) {
      await conn.q(
        `INSERT INTO refused(record_key, identifier_key, profiles, reason, at)
         SELECT r, i, p, w, a FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS t(r, i, p, w, a, o) ORDER BY o`,
        [
          res.refused.map((r) => r.recordKey),
          res.refused.map((r) => toPgKey(r.identifierKey)),
          res.refused.map((r) => JSON.stringify(r.profiles)),
          res.refused.map((r) => r.reason),
          res.refused.map((r) => r.at),
        ],
      );
    }
    if (res.profiles.length) {
      const last = new Map(res.profiles.map((p) => [p.id, p]));
      const ps = [...last.values()];
      await conn.q(
        `INSERT INTO profiles(id, created_at, updated_at, body) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, updated_at = excluded.updated_at, body = excluded.body`,
        [ps.map((p) => p.id), ps.map((p) => p.createdAt), ps.map((p) => p.updatedAt), ps.map(encodeProfile)],
      );
      for (const p of res.profiles) outbox.touch(p.id);
    }
    await insertDeadLetters(conn, batch.deadLetters, now);
    if (res.blockingKeys && hooks.blockingKeys) await hooks.blockingKeys(res.blockingKeys);
    if (res.probabilisticLinks && hooks.probabilisticLinks) await hooks.probabilisticLinks(res.probabilisticLinks);
    if (batch.checkpoints.length) {
      const last = new Map(batch.checkpoints.map((c) => [c.stream, JSON.stringify(c.state)]));
      await conn.q(
        `INSERT INTO state(sync, stream, state, updated_at) SELECT $1, s, st, $4 FROM unnest($2::text[], $3::text[]) AS t(s, st)
         ON CONFLICT (sync, stream) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
        [batch.sync, [...last.keys()], [...last.values()], now],
      );
    }
    // With its checkpoint: the run's row counts exactly the batches committed.
    if (batch.run) await conn.q("UPDATE runs SET summary = $1, heartbeat_at = $2 WHERE id = $3 AND status = 'running'", [JSON.stringify(batch.run.summary), now, batch.run.id]);
    await outbox.write(conn);
    fault('pgcommit.before-commit');
  });
}

/**
 * The batch's merges in five statements. A chain (b into a, then a into c)
 * hands b's rows straight to c, which is where applying them one by one, as
 * the SQLite store does, leaves them.
 */
async function applyMerges(conn: PgConn, merges: MergeEvent[]): Promise<void> {
  const into = new Map<string, string>();
  for (const m of merges) into.set(m.absorbed, m.survivor);
  const final = (id: string) => {
    for (let i = 0; into.has(id) && i <= into.size; i++) id = into.get(id)!;
    return id;
  };
  const absorbed = [...into.keys()];
  const survivors = absorbed.map(final);
  const map = [absorbed, survivors];
  const moving = 'FROM unnest($1::text[], $2::text[]) AS m(a, s)';
  await conn.q(`UPDATE records r SET profile_id = m.s ${moving} WHERE r.profile_id = m.a`, map);
  await conn.q(`UPDATE identifiers i SET profile_id = m.s ${moving} WHERE i.profile_id = m.a`, map);
  await conn.q(`UPDATE aliases x SET profile_id = m.s ${moving} WHERE x.profile_id = m.a`, map);
  await conn.q(
    `INSERT INTO presented(identifier_key, profile_id) SELECT p.identifier_key, m.s FROM presented p JOIN unnest($1::text[], $2::text[]) AS m(a, s) ON p.profile_id = m.a
     ON CONFLICT DO NOTHING`,
    map,
  );
  await conn.q('DELETE FROM presented WHERE profile_id = ANY($1::text[])', [absorbed]);
  // An owner is not also a refused presenter of its own value.
  await conn.q(
    'DELETE FROM presented p USING identifiers i WHERE p.profile_id = ANY($1::text[]) AND i.key = p.identifier_key AND i.profile_id = p.profile_id',
    [[...new Set(survivors)]],
  );
  await conn.q(
    `INSERT INTO aliases(alias, profile_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (alias) DO UPDATE SET profile_id = excluded.profile_id`,
    map,
  );
  await conn.q('DELETE FROM profiles WHERE id = ANY($1::text[])', [absorbed]);
  await conn.q(
    `INSERT INTO merges(survivor, absorbed, record_key, identifier_key, rule, at)
     SELECT s, a, r, i, u, t FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS x(s, a, r, i, u, t, o) ORDER BY o`,
    [
      merges.map((m) => m.survivor),
      merges.map((m) => m.absorbed),
      merges.map((m) => m.recordKey),
      merges.map((m) => toPgKey(m.identifierKey)),
      merges.map((m) => m.rule),
      merges.map((m) => m.at),
    ],
  );
}

async function upsertRecords(conn: PgConn, batch: BatchCommit): Promise<void> {
  if (!batch.records.length) return;
  const res = batch.resolution;
  const links = linksByRecord(res.links);
  // One row per key (the last one), at the place of its first: what upserting them one by one leaves.
  const byKey = new Map<string, CanonicalRecord>();
  for (const r of batch.records) byKey.set(recordKey(r), r);
  const cols: string[][] = [[], [], [], [], [], [], [], [], []];
  for (const [key, r] of byKey) {
    const profileId = res.assignments.get(key);
    if (!profileId) throw new Error(`resolver left record ${key} without a profile`);
    const row = [key, r.source, r.stream, r.recordId, profileId, r.kind, r.observedAt, JSON.stringify(r), encodeLinks(r.identifiers, links.get(key) ?? [])];
    row.forEach((v, i) => cols[i].push(v));
  }
  await conn.q(
    `INSERT INTO records(key, source, stream, record_id, profile_id, kind, observed_at, body, links)
     SELECT k, so, st, ri, pi, ki, ob, bo, li
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
            WITH ORDINALITY AS t(k, so, st, ri, pi, ki, ob, bo, li, o)
      ORDER BY o
     ON CONFLICT (key) DO UPDATE SET profile_id = excluded.profile_id, kind = excluded.kind, observed_at = excluded.observed_at,
       body = excluded.body, links = excluded.links`,
    cols,
  );
}

/** Dead letters in one statement, in order (ids ascending as given). */
export async function insertDeadLetters(conn: PgConn, items: DeadLetterInput[], at: string): Promise<void> {
  if (!items.length) return;
  await conn.q(
    `INSERT INTO dead_letters(sync, stream, record_id, origin, reason, payload, at)
     SELECT s, st, r, o, w, p, $7 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS t(s, st, r, o, w, p, n) ORDER BY n`,
    [
      items.map((d) => d.sync),
      items.map((d) => d.stream),
      items.map((d) => d.recordId ?? null),
      items.map((d) => d.origin ?? null),
      items.map((d) => d.reason),
      items.map((d) => JSON.stringify(d.payload ?? null)),
      at,
    ],
  );
}
