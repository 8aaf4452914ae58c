import type Database from 'better-sqlite3';
import type { StoredRecord } from '../resolution/types.js';
import { recordKey } from '../schema/canonical.js';
import type { ProfileExplanation } from './types.js';
import { decodeLinks } from './record-links.js';

type Row = Record<string, unknown>;

/** Everything `profiles explain` shows of one profile: its records, their links and refusals, merges, aliases. */
export function explainProfile(db: Database.Database, profileId: string, records: StoredRecord[]): ProfileExplanation {
  const keys = records.map((r) => recordKey(r));
  const linkStmt = db.prepare('SELECT links FROM records WHERE key = ?').pluck();
  const refusedStmt = db.prepare('SELECT * FROM refused WHERE record_key = ? ORDER BY seq');
  const links = records.flatMap((r, i) =>
    decodeLinks(linkStmt.get(keys[i]) as string, r.identifiers).map(([identifierKey, rule]) => ({ recordKey: keys[i], identifierKey, rule })),
  );
  const refused = keys.flatMap((k) =>
    (refusedStmt.all(k) as Row[]).map((r) => ({
      recordKey: k,
      identifierKey: r.identifier_key as string,
      profiles: JSON.parse(r.profiles as string) as string[],
      reason: r.reason as string,
      at: r.at as string,
    })),
  );
  // The profile's own merges and those of every profile it absorbed since (their ids are its aliases now).
  const merges = (
    db
      .prepare('SELECT * FROM merges WHERE survivor = ? OR survivor IN (SELECT alias FROM aliases WHERE profile_id = ?) ORDER BY seq')
      .all(profileId, profileId) as Row[]
  ).map((m) => ({
    survivor: m.survivor as string,
    absorbed: m.absorbed as string,
    recordKey: m.record_key as string,
    identifierKey: m.identifier_key as string,
    rule: m.rule as string,
    at: m.at as string,
  }));
  const aliases = db.prepare('SELECT alias FROM aliases WHERE profile_id = ? ORDER BY alias').pluck().all(profileId) as string[];
  return { profileId, aliases, records, links, merges, refused };
}
