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

export async function queryFieldWarnings(conn: PgConn, q: FieldWarningQuery): Promise<FieldWarningGroup[]> {
  const { where, args } = filter(q);
  const groups = await conn.q<{ sync: string; stream: string; field: string; reason: string; n: string }>(
    `SELECT r.source AS sync, r.stream AS stream, w ->> 'field' AS field, w ->> 'reason' AS reason, count(*) AS n
     ${FROM} WHERE ${where}
     GROUP BY r.source, r.stream, w ->> 'field', w ->> 'reason'
     ORDER BY n DESC, r.source COLLATE "C", r.stream COLLATE "C", (w ->> 'field') COLLATE "C", (w ->> 'reason') COLLATE "C"
     LIMIT $${args.length + 1}`,
    [...args, q.limit],
  );
  const out: FieldWarningGroup[] = [];
  for (const g of groups) {
    // `w -> 'value'` is json: node-postgres parses it, so objects, arrays, booleans and numbers come back as they were written.
    const examples = await conn.q<{ recordid: string; value: unknown }>(
      `SELECT r.record_id AS recordid, w -> 'value' AS value ${FROM}
       WHERE r.source = $1 AND r.stream = $2 AND r.body LIKE '%"warnings":[{%' AND w ->> 'field' = $3 AND w ->> 'reason' = $4
       ORDER BY r.seq LIMIT $5`,
      [g.sync, g.stream, g.field, g.reason, q.examples],
    );
    out.push({
      sync: g.sync,
      stream: g.stream,
      field: g.field,
      reason: g.reason,
      count: Number(g.n),
      examples: examples.map((e) => ({ recordId: e.recordid, value: e.value ?? null })),
    });
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
