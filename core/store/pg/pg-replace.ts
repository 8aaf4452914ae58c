import type { Identifier } from '../../schema/canonical.js';
import type { ProfileState } from '../../resolution/types.js';
import type { ResolutionSnapshot } from '../types.js';
import { encodeProfile } from '../profile-codec.js';
import { encodeLinks } from '../record-links.js';
import { linksByRecord } from '../sqlite-replace.js';
import type { PgConn } from './pg-conn.js';
import { replaceProbabilisticLinks } from './pg-blocking.js';
import { lockResolve } from './pg-forget.js';
import { toPgKey } from './pg-keys.js';
import { chunks } from './pg-sql.js';

/**
 * `resolve --rebuild`'s write (port of sqlite-replace.ts writeResolution): in
 * one transaction the rebuilt partition replaces the stored one (identifiers,
 * presented and refused rows, profiles, aliases, probabilistic links, merge
 * history), and every rebuilt profile is queued for each incremental
 * destination, a merge carrying the absorbed profile's pending entries to its
 * survivor. Every write is multi-row (unnest), CHUNK rows a statement.
 *
 * It takes the store's resolve lock (held already when called inside the store's
 * `exclusive`, as a rebuild does): a forget waits for this transaction and then
 * deletes what it wrote. A forget between the dump and this write is kept out
 * only by the caller holding `exclusive` across both, as the rebuild does.
 */
export async function replaceResolution(conn: PgConn, r: ResolutionSnapshot, destinations: string[]): Promise<void> {
  await conn.tx(async () => {
    await lockResolve(conn);
    for (const t of ['identifiers', 'presented', 'profiles', 'aliases', 'refused']) await conn.q(`DELETE FROM ${t}`);
    await writeRecordResolution(conn, r);
    // The same id twice: the later one stands, as the SQLite upsert one row at a time leaves it.
    const profiles = [...new Map(r.profiles.map((p) => [p.id, p] as [string, ProfileState])).values()];
    for (const part of chunks(profiles)) {
      await conn.q(
        `INSERT INTO profiles(id, created_at, updated_at, body) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, updated_at = excluded.updated_at, body = excluded.body`,
        [part.map((p) => p.id), part.map((p) => p.createdAt), part.map((p) => p.updatedAt), part.map((p) => encodeProfile(p))],
      );
    }
    await writeOutbox(conn, r, destinations);
    await insertPairs(conn, 'INSERT INTO identifiers(key, profile_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (key) DO UPDATE SET profile_id = excluded.profile_id', [...r.identifierOwners].map(([k, p]) => [toPgKey(k), p] as [string, string]));
    await insertPairs(conn, 'INSERT INTO presented(identifier_key, profile_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING', dedupe(r.presented.map(([k, p]) => [toPgKey(k), p] as [string, string])));
    for (const part of chunks(r.refused)) {
      await conn.q(
        `INSERT INTO refused(record_key, identifier_key, profiles, reason, at)
         SELECT a, b, c, d, e FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(a, b, c, d, e, ord) ORDER BY ord`,
        [part.map((f) => f.recordKey), part.map((f) => toPgKey(f.identifierKey)), part.map((f) => JSON.stringify(f.profiles)), part.map((f) => f.reason), part.map((f) => f.at)],
      );
    }
    await insertPairs(conn, 'INSERT INTO aliases(alias, profile_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (alias) DO UPDATE SET profile_id = excluded.profile_id', [...r.aliases]);
    if (r.probabilisticLinks) await replaceProbabilisticLinks(conn, r.probabilisticLinks);
    for (const part of chunks(r.merges)) {
      await conn.q(
        `INSERT INTO merges(survivor, absorbed, record_key, identifier_key, rule, at)
         SELECT a, b, c, d, e, f FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(a, b, c, d, e, f, ord) ORDER BY ord`,
        [part.map((m) => m.survivor), part.map((m) => m.absorbed), part.map((m) => m.recordKey), part.map((m) => toPgKey(m.identifierKey)), part.map((m) => m.rule), part.map((m) => m.at)],
      );
    }
  });
}

/** Each record's profile, and its links written against its own identifiers (record-links.ts), read from its body. */
async function writeRecordResolution(conn: PgConn, r: ResolutionSnapshot): Promise<void> {
  const links = linksByRecord(r.links);
  for (const part of chunks([...r.recordProfiles])) {
    const withLinks = part.filter(([key]) => links.has(key)).map(([key]) => key);
    const idsOf = new Map<string, Identifier[]>();
    if (withLinks.length) {
      const rows = await conn.q<{ key: string; ids: string | null }>("SELECT key, (body::json -> 'identifiers')::text AS ids FROM records WHERE key = ANY($1::text[])", [withLinks]);
      for (const row of rows) idsOf.set(row.key, JSON.parse(row.ids ?? '[]') as Identifier[]);
    }
    await conn.q('UPDATE records r SET profile_id = u.p, links = u.l FROM unnest($1::text[], $2::text[], $3::text[]) AS u(k, p, l) WHERE r.key = u.k', [
      part.map(([key]) => key),
      part.map(([, id]) => id),
      part.map(([key]) => {
        const own = links.get(key);
        return own ? encodeLinks(idsOf.get(key) ?? [], own) : '[]';
      }),
    ]);
  }
}

/**
 * The outbox after the rebuild: every profile queued for every destination (a
 * pending entry keeps its merged_from), then each merge moves the absorbed
 * profile's entry to its survivor. Played in memory in the SQLite order, then
 * written; seqs come from outbox_seq_gen, increasing in that order.
 */
async function writeOutbox(conn: PgConn, r: ResolutionSnapshot, destinations: string[]): Promise<void> {
  if (!destinations.length || (!r.profiles.length && !r.merges.length)) return;
  const touched = new Set<string>([...r.profiles.map((p) => p.id), ...r.merges.flatMap((m) => [m.survivor, m.absorbed])]);
  const existing = await conn.q<{ destination: string; profile_id: string; merged_from: string }>(
    'SELECT destination, profile_id, merged_from FROM outbox WHERE destination = ANY($1::text[]) AND profile_id = ANY($2::text[])',
    [destinations, [...touched]],
  );
  const at = (d: string, p: string) => `${d}\u0000${p}`;
  const merged = new Map<string, string>(existing.map((e) => [at(e.destination, e.profile_id), e.merged_from]));
  const put = new Map<string, { d: string; p: string; n: number }>();
  const gone = new Set<string>();
  let n = 0;
  const queue = (d: string, p: string, from: string) => {
    const k = at(d, p);
    merged.set(k, from);
    put.set(k, { d, p, n: n++ });
    gone.delete(k);
  };
  for (const p of r.profiles) for (const d of destinations) queue(d, p.id, merged.get(at(d, p.id)) ?? '[]');
  for (const m of r.merges) {
    for (const d of destinations) {
      const carried = JSON.parse(merged.get(at(d, m.absorbed)) ?? '[]') as string[];
      const prev = JSON.parse(merged.get(at(d, m.survivor)) ?? '[]') as string[];
      const k = at(d, m.absorbed);
      merged.delete(k);
      put.delete(k);
      gone.add(k);
      queue(d, m.survivor, JSON.stringify([...new Set([...prev, ...carried, m.absorbed])]));
    }
  }
  const drop = [...gone].map((k) => k.split('\u0000'));
  for (const part of chunks(drop)) {
    await conn.q('DELETE FROM outbox o USING unnest($1::text[], $2::text[]) AS u(d, p) WHERE o.destination = u.d AND o.profile_id = u.p', [part.map((x) => x[0]), part.map((x) => x[1])]);
  }
  // One seq per entry written, in the order they were queued; the last one for a row stands.
  const rows = [...put.values()].sort((a, b) => a.n - b.n);
  const seqs = (await conn.q<{ s: string }>("SELECT nextval('outbox_seq_gen') AS s FROM generate_series(1, $1)", [rows.length])).map((x) => Number(x.s)).sort((a, b) => a - b);
  for (const part of chunks(rows.map((row, i) => ({ ...row, seq: seqs[i], from: merged.get(at(row.d, row.p))! })))) {
    await conn.q(
      `INSERT INTO outbox(destination, profile_id, seq, merged_from) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[])
       ON CONFLICT (destination, profile_id) DO UPDATE SET seq = excluded.seq, merged_from = excluded.merged_from`,
      [part.map((x) => x.d), part.map((x) => x.p), part.map((x) => x.seq), part.map((x) => x.from)],
    );
  }
}

async function insertPairs(conn: PgConn, sql: string, pairs: Array<[string, string]>): Promise<void> {
  for (const part of chunks(pairs)) await conn.q(sql, [part.map((p) => p[0]), part.map((p) => p[1])]);
}

function dedupe(pairs: Array<[string, string]>): Array<[string, string]> {
  const seen = new Map<string, [string, string]>();
  for (const p of pairs) seen.set(`${p[0]}\u0000${p[1]}`, p);
  return [...seen.values()];
}
