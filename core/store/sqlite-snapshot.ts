import type Database from 'better-sqlite3';
import type { DeadLetter, ResolutionSnapshot } from './types.js';
import { profileOfRow } from './profile-codec.js';
import { decodeLinks } from './record-links.js';
import { identifiersOfBody } from './record-codec.js';
import { deadLetterOfRow } from './row-shapes.js';

/**
 * Whole-store reads of the SQLite store that sit outside the batch hot path:
 * the resolution snapshot `resolve --rebuild` starts from, dead letters for
 * `dead-letters list`, and the health checks tests and `status` use.
 */

type Row = Record<string, unknown>;

export function listDeadLetters(db: Database.Database, opts: { limit: number; sync?: string }): DeadLetter[] {
  const rows = (
    opts.sync
      ? db.prepare('SELECT * FROM dead_letters WHERE sync = ? ORDER BY id DESC LIMIT ?').all(opts.sync, opts.limit)
      : db.prepare('SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?').all(opts.limit)
  ) as Row[];
  return rows.map(deadLetterOfRow);
}

/** The current partition and its decisions, as `replaceResolution` takes them back. */
export function dumpResolution(db: Database.Database): ResolutionSnapshot {
  const rows = <T = Row>(sql: string) => db.prepare(sql).all() as T[];
  return {
    recordProfiles: new Map(rows('SELECT key, profile_id FROM records').map((r) => [r.key as string, r.profile_id as string])),
    profiles: rows('SELECT id, created_at, updated_at, body FROM profiles').map(profileOfRow),
    identifierOwners: new Map(rows('SELECT key, profile_id FROM identifiers').map((r) => [r.key as string, r.profile_id as string])),
    links: rows("SELECT key, links, CASE WHEN links = '[]' THEN NULL ELSE body END AS body FROM records").flatMap((r) =>
      decodeLinks(r.links as string, r.body === null ? [] : identifiersOfBody(r.body as string)).map(([identifierKey, rule]) => ({
        recordKey: r.key as string,
        identifierKey,
        rule,
      })),
    ),
    presented: rows('SELECT * FROM presented').map((r) => [r.identifier_key as string, r.profile_id as string] as [string, string]),
    refused: rows('SELECT * FROM refused ORDER BY seq').map((r) => ({
      recordKey: r.record_key as string,
      identifierKey: r.identifier_key as string,
      profiles: JSON.parse(r.profiles as string) as string[],
      reason: r.reason as string,
      at: r.at as string,
    })),
    aliases: new Map(rows('SELECT alias, profile_id FROM aliases').map((r) => [r.alias as string, r.profile_id as string])),
    merges: [],
  };
}

/** Rows that point at a profile that does not exist: always empty in a healthy store. */
export function danglingReferences(db: Database.Database): string[] {
  const checks: Array<[string, string]> = [
    ['records', 'SELECT key FROM records WHERE profile_id NOT IN (SELECT id FROM profiles)'],
    ['identifiers', 'SELECT key FROM identifiers WHERE profile_id NOT IN (SELECT id FROM profiles)'],
    ['aliases', 'SELECT alias FROM aliases WHERE profile_id NOT IN (SELECT id FROM profiles)'],
  ];
  return checks.flatMap(([table, sql]) => (db.prepare(sql).pluck().all() as string[]).map((k) => `${table}: ${k.replace('\u0000', '=')}`));
}

/** Whole-store counts, for tests and the run summary. */
export function storeCounts(db: Database.Database): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of ['records', 'identifiers', 'profiles', 'aliases', 'merges', 'refused', 'state', 'outbox', 'dead_letters']) {
    out[t] = Number(db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get());
  }
  return out;
}
