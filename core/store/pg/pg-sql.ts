import type { PgConn } from './pg-conn.js';

/**
 * Small helpers the PostgreSQL read side and privacy ledger share. `PgConn.q`
 * hands back rows only, so a statement's row count is asked for with RETURNING.
 */

/** Rows a DELETE/UPDATE touched: `sql` must end in `RETURNING 1`. */
export async function changed(conn: PgConn, sql: string, values: unknown[]): Promise<number> {
  const rows = await conn.q<{ n: number }>(`WITH c AS (${sql}) SELECT count(*)::int AS n FROM c`, values);
  return rows[0]?.n ?? 0;
}

/** Which of these tables exist in the store's schema (tables of concerns wired in another order may be missing). */
export async function existingTables(conn: PgConn, tables: string[]): Promise<Set<string>> {
  const rows = await conn.q<{ t: string }>('SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NOT NULL', [tables]);
  return new Set(rows.map((r) => r.t));
}

/** Multi-row statements take their values as arrays; this many rows per statement keeps a parameter under a few MB. */
export const CHUNK = 5_000;

export function chunks<T>(items: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * `pg_advisory_xact_lock` on a named key of this store's schema, held to the end of the current transaction
 * (advisory locks are database-wide: stores in other schemas must not wait for it).
 */
export async function xactLock(conn: PgConn, name: string, mode: 'exclusive' | 'shared' = 'exclusive'): Promise<void> {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await conn.q(`SELECT ${fn}(hashtextextended($1 || COALESCE(current_schema(), ''), 0))`, [name]);
}
