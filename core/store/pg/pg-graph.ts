import type { ProfileState, StoredRecord } from '../../resolution/types.js';
import { profileOfRow } from '../profile-codec.js';
import type { PgConn } from './pg-conn.js';
import { fromPgKey, toPgKeys } from './pg-keys.js';

type Row = Record<string, unknown>;

/**
 * The IdentityGraph reads of the PostgreSQL store: one statement per call, the
 * keys as one text array (`= ANY($1::text[])`), answers in the order the keys
 * were asked for, as the SQLite store gives them. Inside `exclusive` they run
 * on the batch transaction's client (PgConn finds it), so they see the graph
 * the batch is resolved and committed against.
 */

export async function lookupIdentifiers(conn: PgConn, keys: string[]): Promise<Map<string, string>> {
  if (!keys.length) return new Map();
  const rows = await conn.q<{ key: string; profile_id: string }>('SELECT key, profile_id FROM identifiers WHERE key = ANY($1::text[])', [toPgKeys(keys)]);
  return inOrder(keys, new Map(rows.map((r) => [fromPgKey(r.key), r.profile_id])));
}

export async function getProfiles(conn: PgConn, ids: string[]): Promise<Map<string, ProfileState>> {
  if (!ids.length) return new Map();
  const rows = await conn.q('SELECT id, created_at, updated_at, body FROM profiles WHERE id = ANY($1::text[])', [ids]);
  return inOrder(ids, new Map(rows.map((r) => [r.id as string, profileOfRow(r)])));
}

/** Every record of each profile, profile by profile in the order asked, each profile's in the order stored. */
export async function recordsOfProfiles(conn: PgConn, ids: string[]): Promise<StoredRecord[]> {
  if (!ids.length) return [];
  const rows = await conn.q('SELECT profile_id, body FROM records WHERE profile_id = ANY($1::text[]) ORDER BY seq', [[...new Set(ids)]]);
  const byProfile = new Map<string, StoredRecord[]>();
  for (const r of rows) {
    const id = r.profile_id as string;
    let list = byProfile.get(id);
    if (!list) byProfile.set(id, (list = []));
    list.push(toStored(r));
  }
  return ids.flatMap((id) => byProfile.get(id) ?? []);
}

export async function existingRecords(conn: PgConn, keys: string[]): Promise<Map<string, StoredRecord>> {
  if (!keys.length) return new Map();
  const rows = await conn.q('SELECT key, profile_id, body FROM records WHERE key = ANY($1::text[])', [keys]);
  return inOrder(keys, new Map(rows.map((r) => [r.key as string, toStored(r)])));
}

export async function presentedBy(conn: PgConn, keys: string[]): Promise<Map<string, number>> {
  if (!keys.length) return new Map();
  const rows = await conn.q<{ k: string; n: string }>(
    'SELECT identifier_key AS k, COUNT(*) AS n FROM presented WHERE identifier_key = ANY($1::text[]) GROUP BY identifier_key',
    [toPgKeys(keys)],
  );
  return inOrder(keys, new Map(rows.map((r) => [fromPgKey(r.k), Number(r.n)])));
}

/** Per key, at most `limit` presenting profiles, oldest profile first (then by id), in one statement. */
export async function presentersOf(conn: PgConn, keys: string[], limit: number): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!keys.length) return out;
  const unique = [...new Set(keys)];
  const rows = await conn.q<{ ord: string; profile_id: string }>(
    `SELECT k.ord, x.profile_id
       FROM unnest($1::text[]) WITH ORDINALITY AS k(key, ord)
       CROSS JOIN LATERAL (
         SELECT p.profile_id, f.created_at, f.id FROM presented p JOIN profiles f ON f.id = p.profile_id
          WHERE p.identifier_key = k.key
          ORDER BY f.created_at COLLATE "C", f.id COLLATE "C" LIMIT $2
       ) x
      ORDER BY k.ord, x.created_at COLLATE "C", x.id COLLATE "C"`,
    [toPgKeys(unique), limit],
  );
  for (const r of rows) {
    const key = unique[Number(r.ord) - 1];
    let list = out.get(key);
    if (!list) out.set(key, (list = []));
    list.push(r.profile_id);
  }
  return out;
}

/** The found entries in the order their keys were asked for. */
export function inOrder<V>(keys: string[], found: Map<string, V>): Map<string, V> {
  const out = new Map<string, V>();
  for (const k of keys) {
    const v = found.get(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

export function toStored(row: Row): StoredRecord {
  return { ...(JSON.parse(row.body as string) as StoredRecord), profileId: row.profile_id as string };
}
