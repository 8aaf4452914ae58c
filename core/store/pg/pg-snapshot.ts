import type { StoredRecord } from '../../resolution/types.js';
import type { Identifier } from '../../schema/canonical.js';
import type { DeadLetter, ResolutionSnapshot } from '../types.js';
import { profileOfRow } from '../profile-codec.js';
import { decodeLinks } from '../record-links.js';
import type { PgConn } from './pg-conn.js';
import { fromPgKey } from './pg-keys.js';
import { deadLetterOfRow } from '../row-shapes.js';

export { replaceResolution } from './pg-replace.js';

/**
 * Whole-store reads of the PostgreSQL store outside the batch hot path (port of
 * sqlite-snapshot.ts): every record for a rebuild, the resolution snapshot it
 * starts from, dead letters for `dead-letters list`. Rows come in a fixed order
 * (records by seq, keys in byte order) so two dumps of the same store are equal.
 */

type Row = Record<string, unknown>;

export async function listDeadLetters(conn: PgConn, opts: { limit: number; sync?: string }): Promise<DeadLetter[]> {
  const rows = opts.sync
    ? await conn.q<Row>('SELECT * FROM dead_letters WHERE sync = $1 ORDER BY id DESC LIMIT $2', [opts.sync, opts.limit])
    : await conn.q<Row>('SELECT * FROM dead_letters ORDER BY id DESC LIMIT $1', [opts.limit]);
  return rows.map(deadLetterOfRow);
}

/** Every record, oldest first, `batchSize` at a time (keyset paging on seq: rows written meanwhile are not skipped or repeated). */
export async function* iterateRecords(conn: PgConn, batchSize: number): AsyncIterable<StoredRecord[]> {
  let after = 0;
  for (;;) {
    const rows = await conn.q<{ seq: string; profile_id: string; body: string }>('SELECT seq, profile_id, body FROM records WHERE seq > $1 ORDER BY seq LIMIT $2', [after, batchSize]);
    if (!rows.length) return;
    after = Number(rows[rows.length - 1].seq);
    yield rows.map((r) => ({ ...(JSON.parse(r.body) as StoredRecord), profileId: r.profile_id }));
  }
}

/** The current partition and its decisions, as `replaceResolution` takes them back. Consistent when called inside `conn.tx` with repeatable read. */
export async function dumpResolution(conn: PgConn): Promise<ResolutionSnapshot> {
  const records = await conn.q<{ key: string; profile_id: string; links: string; ids: string | null }>(
    `SELECT key, profile_id, links, CASE WHEN links = '[]' THEN NULL ELSE (body::json -> 'identifiers')::text END AS ids FROM records ORDER BY seq`,
  );
  const profiles = await conn.q<Row>('SELECT id, created_at, updated_at, body FROM profiles ORDER BY id COLLATE "C"');
  const identifiers = await conn.q<{ key: string; profile_id: string }>('SELECT key, profile_id FROM identifiers ORDER BY key COLLATE "C"');
  const presented = await conn.q<{ identifier_key: string; profile_id: string }>('SELECT identifier_key, profile_id FROM presented ORDER BY identifier_key COLLATE "C", profile_id COLLATE "C"');
  const refused = await conn.q<Row>('SELECT * FROM refused ORDER BY seq');
  const aliases = await conn.q<{ alias: string; profile_id: string }>('SELECT alias, profile_id FROM aliases ORDER BY alias COLLATE "C"');
  return {
    recordProfiles: new Map(records.map((r) => [r.key, r.profile_id])),
    profiles: profiles.map(profileOfRow),
    identifierOwners: new Map(identifiers.map((r) => [fromPgKey(r.key), r.profile_id])),
    links: records.flatMap((r) =>
      decodeLinks(r.links, r.ids === null ? [] : (JSON.parse(r.ids) as Identifier[])).map(([identifierKey, rule]) => ({ recordKey: r.key, identifierKey, rule })),
    ),
    presented: presented.map((r) => [fromPgKey(r.identifier_key), r.profile_id] as [string, string]),
    refused: refused.map((r) => ({
      recordKey: r.record_key as string,
      identifierKey: fromPgKey(r.identifier_key as string),
      profiles: JSON.parse(r.profiles as string) as string[],
      reason: r.reason as string,
      at: r.at as string,
    })),
    aliases: new Map(aliases.map((r) => [r.alias, r.profile_id])),
    merges: [],
  };
}
