import type Database from 'better-sqlite3';
import type { RefusalRow } from './types.js';

/** The newest refusals, and how many there are in all. */
export function listRefusals(db: Database.Database, limit: number): { refusals: RefusalRow[]; total: number } {
  const rows = db
    .prepare(
      `SELECT f.record_key, f.identifier_key, f.profiles, f.reason, f.at, r.profile_id
       FROM refused f LEFT JOIN records r ON r.key = f.record_key ORDER BY f.seq DESC LIMIT ?`,
    )
    .all(limit) as Array<Record<string, unknown>>;
  const total = Number(db.prepare('SELECT COUNT(*) FROM refused').pluck().get());
  return {
    total,
    refusals: rows.map((r) => ({
      recordKey: r.record_key as string,
      identifierKey: r.identifier_key as string,
      profiles: JSON.parse(r.profiles as string) as string[],
      profileId: (r.profile_id as string | null) ?? undefined,
      reason: r.reason as string,
      at: r.at as string,
    })),
  };
}
