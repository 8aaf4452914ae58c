import type { RefusalRow } from '../types.js';
import type { PgConn } from './pg-conn.js';
import { fromPgKey } from './pg-keys.js';

/** The newest refusals, and how many there are in all (port of sqlite-refusals.ts). */
export async function listRefusals(conn: PgConn, limit: number): Promise<{ refusals: RefusalRow[]; total: number }> {
  const rows = await conn.q<Record<string, unknown>>(
    `SELECT f.record_key, f.identifier_key, f.profiles, f.reason, f.at, r.profile_id
     FROM refused f LEFT JOIN records r ON r.key = f.record_key ORDER BY f.seq DESC LIMIT $1`,
    [limit],
  );
  const [{ n }] = await conn.q<{ n: string }>('SELECT count(*) AS n FROM refused');
  return {
    total: Number(n),
    refusals: rows.map((r) => ({
      recordKey: r.record_key as string,
      identifierKey: fromPgKey(r.identifier_key as string),
      profiles: JSON.parse(r.profiles as string) as string[],
      profileId: (r.profile_id as string | null) ?? undefined,
      reason: r.reason as string,
      at: r.at as string,
    })),
  };
}
