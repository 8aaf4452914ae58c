import type { FieldWarningGroup, FieldWarningQuery } from '../types.js';
import type { PgConn } from './pg-conn.js';

/**
 * Field warnings of the stored records (port of sqlite-warnings.ts), read from
 * the record bodies (`CanonicalRecord.warnings`) as the SQLite store does: the
 * commit writes nothing extra for them. The LIKE skips most bodies without a
 * JSON parse; `::json` rather than `::jsonb` because jsonb refuses a \u0000
 * escape a source may have put in a body. Text order is byte order (COLLATE "C"), as SQLite's.
 */
function filter(q: { sync?: string; stream?: string }): { where: string; args: unknown[] } {
  const where = [`r.body LIKE '%"warnings":[{%'`];
  const args: unknown[] = [];
  if (q.sync) {
    args.push(q.sync);
    where.push(`r.source = $${args.length}`);
  }
  if (q.stream) {
    args.push(q.stream);
    where.push(`r.stream = $${args.length}`);
  }
  return { where: where.join(' AND '), args };
}

const FROM = `FROM records r CROSS JOIN LATERAL json_array_elements(CASE WHEN json_typeof(r.body::json -> 'warnings') = 'array' THEN r.body::json -> 'warnings' END) AS w`;

/**
 * The biggest groups and their first examples (by seq) in one statement: one
 * scan of the records, where the SQLite store runs one examples query per group.
 */
export async function queryFieldWarnings(conn: PgConn, q: FieldWarningQuery): Promise<FieldWarningGroup[]> {
  const { where, args } = filter(q);
  const n = args.length;
  const rows = await conn.q<{ sync: string; stream: string; field: string; reason: string; n: string; recordid: string; value: unknown }>(
    `WITH w AS MATERIALIZED (
       SELECT r.source, r.stream, r.seq, r.record_id, w ->> 'field' AS field, w ->> 'reason' AS reason, w -> 'value' AS value
       ${FROM} WHERE ${where}
     ), g AS (
       SELECT source, stream, field, reason, count(*) AS n FROM w GROUP BY source, stream, field, reason
       ORDER BY n DESC, source COLLATE "C", stream COLLATE "C", field COLLATE "C", reason COLLATE "C" LIMIT $${n + 1}
     ), e AS (
       SELECT w.source, w.stream, w.field, w.reason, w.record_id, w.value,
         row_number() OVER (PARTITION BY w.source, w.stream, w.field, w.reason ORDER BY w.seq) AS rn
       FROM w JOIN g ON g.source = w.source AND g.stream = w.stream AND g.field IS NOT DISTINCT FROM w.field AND g.reason IS NOT DISTINCT FROM w.reason
     )
     SELECT g.source AS sync, g.stream, g.field, g.reason, g.n, e.record_id AS recordid, e.value
     FROM g LEFT JOIN e ON e.source = g.source AND e.stream = g.stream AND e.field IS NOT DISTINCT FROM g.field AND e.reason IS NOT DISTINCT FROM g.reason AND e.rn <= $${n + 2}
     ORDER BY g.n DESC, g.source COLLATE "C", g.stream COLLATE "C", g.field COLLATE "C", g.reason COLLATE "C", e.rn`,
    [...args, q.limit, q.examples],
  );
  const out: FieldWarningGroup[] = [];
  let last: FieldWarningGroup | undefined;
  for (const r of rows) {
    if (!last || last.sync !== r.sync || last.stream !== r.stream || last.field !== r.field || last.reason !== r.reason) {
      out.push((last = { sync: r.sync, stream: r.stream, field: r.field, reason: r.reason, count: Number(r.n), examples: [] }));
    }
    // `value` is json: node-postgres parses it, so objects, arrays, booleans and numbers come back as they were written.
    if (r.recordid !== null) last.examples.push({ recordId: r.recordid, value: r.value ?? null });
  }
  return out;
}

/** How many groups there are in all, for "N more groups". */
export async function countFieldWarningGroups(conn: PgConn, q: Omit<FieldWarningQuery, 'limit' | 'examples'>): Promise<number> {
  const { where, args } = filter(q);
  const rows = await conn.q<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT 1 ${FROM} WHERE ${where} GROUP BY r.source, r.stream, w ->> 'field', w ->> 'reason') g`,
    args,
  );
  return Number(rows[0].n);
}

/** The store's `fieldWarnings`: the groups asked for and how many there are in all. */
export async function fieldWarnings(conn: PgConn, q: FieldWarningQuery): Promise<{ groups: FieldWarningGroup[]; total: number }> {
  return { groups: await queryFieldWarnings(conn, q), total: await countFieldWarningGroups(conn, q) };
}
