import type { ProfileDocument } from '../../plugin/types.js';
import type { ProfileState } from '../../resolution/types.js';
import { profileOfRow } from '../profile-codec.js';
import { toProfileDocument } from '../profile-document.js';
import type { PgConn } from './pg-conn.js';

/** Profile documents of the PostgreSQL store: the records and aliases of a page of profiles in two statements. */

export async function resolveProfileId(conn: PgConn, idOrAlias: string): Promise<string | undefined> {
  const rows = await conn.q<{ id: string }>(
    'SELECT id FROM profiles WHERE id = $1 UNION ALL (SELECT profile_id FROM aliases WHERE alias = $1) LIMIT 1',
    [idOrAlias],
  );
  return rows[0]?.id;
}

export async function profileDocument(conn: PgConn, id: string): Promise<ProfileDocument | undefined> {
  const rows = await conn.q('SELECT id, created_at, updated_at, body FROM profiles WHERE id = $1', [id]);
  if (!rows.length) return undefined;
  return (await documents(conn, [profileOfRow(rows[0])]))[0];
}

/** Every profile in id order (code-point order, as SQLite's), `batchSize` at a time. */
export async function* iterateProfiles(conn: PgConn, batchSize: number): AsyncIterable<ProfileDocument[]> {
  let after = '';
  for (;;) {
    const rows = await conn.q(
      'SELECT id, created_at, updated_at, body FROM profiles WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2',
      [after, batchSize],
    );
    if (!rows.length) return;
    const states = rows.map(profileOfRow);
    after = states[states.length - 1].id;
    yield documents(conn, states);
  }
}

export async function countProfiles(conn: PgConn): Promise<number> {
  const rows = await conn.q<{ n: string }>('SELECT COUNT(*) AS n FROM profiles');
  return Number(rows[0].n);
}

async function documents(conn: PgConn, states: ProfileState[]): Promise<ProfileDocument[]> {
  const ids = states.map((s) => s.id);
  const [records, aliases] = await Promise.all([
    conn.q<{ profile_id: string; source: string; stream: string; record_id: string }>(
      'SELECT profile_id, source, stream, record_id FROM records WHERE profile_id = ANY($1::text[]) ORDER BY seq',
      [ids],
    ),
    conn.q<{ profile_id: string; alias: string }>('SELECT profile_id, alias FROM aliases WHERE profile_id = ANY($1::text[]) ORDER BY alias COLLATE "C"', [ids]),
  ]);
  const recs = group(records, (r) => ({ source: r.source, stream: r.stream, recordId: r.record_id }));
  const als = group(aliases, (a) => a.alias);
  return states.map((s) => toProfileDocument(s, recs.get(s.id) ?? [], als.get(s.id) ?? []));
}

function group<R extends { profile_id: string }, V>(rows: R[], f: (r: R) => V): Map<string, V[]> {
  const out = new Map<string, V[]>();
  for (const r of rows) {
    let list = out.get(r.profile_id);
    if (!list) out.set(r.profile_id, (list = []));
    list.push(f(r));
  }
  return out;
}
