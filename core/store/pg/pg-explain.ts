import type { StoredRecord } from '../../resolution/types.js';
import { recordKey } from '../../schema/canonical.js';
import type { ProfileExplanation } from '../types.js';
import { decodeLinks } from '../record-links.js';
import type { PgConn } from './pg-conn.js';
import { fromPgKey } from './pg-keys.js';

type Row = Record<string, unknown>;

/** A profile's records, oldest first, as the store hands them to the resolver. */
export async function recordsOfProfile(conn: PgConn, profileId: string): Promise<StoredRecord[]> {
  const rows = await conn.q<{ profile_id: string; body: string }>('SELECT profile_id, body FROM records WHERE profile_id = $1 ORDER BY seq', [profileId]);
  return rows.map((r) => ({ ...(JSON.parse(r.body) as StoredRecord), profileId: r.profile_id }));
}

/**
 * Everything `profiles explain` shows of one profile (port of sqlite-explain.ts):
 * its records, their links and refusals, merges, aliases. `records` as the store
 * already read them, or read here. Consent is the consent concern's (explainConsent).
 */
export async function explainProfile(conn: PgConn, profileId: string, records?: StoredRecord[]): Promise<ProfileExplanation> {
  const recs = records ?? (await recordsOfProfile(conn, profileId));
  const keys = recs.map((r) => recordKey(r));
  const linkRows = await conn.q<{ key: string; links: string }>('SELECT key, links FROM records WHERE key = ANY($1::text[])', [keys]);
  const linksOf = new Map(linkRows.map((r) => [r.key, r.links]));
  const links = recs.flatMap((r, i) =>
    decodeLinks(linksOf.get(keys[i]) ?? '[]', r.identifiers).map(([identifierKey, rule]) => ({ recordKey: keys[i], identifierKey, rule })),
  );
  // Grouped by record in the records' order, oldest refusal first within each: the SQLite store's order.
  const refusedRows = await conn.q<Row>('SELECT * FROM refused WHERE record_key = ANY($1::text[]) ORDER BY array_position($1::text[], record_key), seq', [keys]);
  const refused = refusedRows.map((r) => ({
    recordKey: r.record_key as string,
    identifierKey: fromPgKey(r.identifier_key as string),
    profiles: JSON.parse(r.profiles as string) as string[],
    reason: r.reason as string,
    at: r.at as string,
  }));
  // The profile's own merges and those of every profile it absorbed since (their ids are its aliases now).
  const merges = (
    await conn.q<Row>('SELECT * FROM merges WHERE survivor = $1 OR survivor IN (SELECT alias FROM aliases WHERE profile_id = $1) ORDER BY seq', [profileId])
  ).map((m) => ({
    survivor: m.survivor as string,
    absorbed: m.absorbed as string,
    recordKey: m.record_key as string,
    identifierKey: fromPgKey(m.identifier_key as string),
    rule: m.rule as string,
    at: m.at as string,
  }));
  const aliases = (await conn.q<{ alias: string }>('SELECT alias FROM aliases WHERE profile_id = $1 ORDER BY alias COLLATE "C"', [profileId])).map((r) => r.alias);
  return { profileId, aliases, records: recs, links, merges, refused };
}
