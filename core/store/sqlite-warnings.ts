import type Database from 'better-sqlite3';
import type { FieldWarningGroup, FieldWarningQuery } from './types.js';

/**
 * Field warnings of the stored records, grouped by sync, stream, field and
 * reason, biggest group first. They are read from the record bodies
 * (`CanonicalRecord.warnings`) with json_each rather than kept in a table of
 * their own: commit, the hot path, writes nothing extra, and a record read
 * again replaces its warnings with the new version's. Inspection scans the
 * records table; the LIKE filter skips most bodies without parsing them.
 */
export function queryFieldWarnings(db: Database.Database, q: FieldWarningQuery): FieldWarningGroup[] {
  const where = [`r.body LIKE '%"warnings":[{%'`];
  const args: string[] = [];
  if (q.sync) {
    where.push('r.source = ?');
    args.push(q.sync);
  }
  if (q.stream) {
    where.push('r.stream = ?');
    args.push(q.stream);
  }
  const from = `FROM records r, json_each(r.body, '$.warnings') w WHERE ${where.join(' AND ')}`;
  const groups = db
    .prepare(
      `SELECT r.source AS sync, r.stream AS stream, json_extract(w.value, '$.field') AS field, json_extract(w.value, '$.reason') AS reason, COUNT(*) AS n
       ${from} GROUP BY 1, 2, 3, 4 ORDER BY n DESC, 1, 2, 3, 4 LIMIT ?`,
    )
    .all(...args, q.limit) as Array<{ sync: string; stream: string; field: string; reason: string; n: number }>;
  const examples = db.prepare(
    `SELECT r.record_id AS recordId, json_extract(w.value, '$.value') AS value, json_type(w.value, '$.value') AS type
     FROM records r, json_each(r.body, '$.warnings') w
     WHERE r.source = ? AND r.stream = ? AND json_extract(w.value, '$.field') = ? AND json_extract(w.value, '$.reason') = ?
     ORDER BY r.seq LIMIT ?`,
  );
  return groups.map((g) => ({
    sync: g.sync,
    stream: g.stream,
    field: g.field,
    reason: g.reason,
    count: Number(g.n),
    examples: (examples.all(g.sync, g.stream, g.field, g.reason, q.examples) as Array<{ recordId: string; value: unknown; type: string }>).map((e) => ({
      recordId: e.recordId,
      // json_extract hands objects and arrays back as JSON text, and true/false as 1/0.
      value: e.type === 'object' || e.type === 'array' ? JSON.parse(String(e.value)) : e.type === 'true' ? true : e.type === 'false' ? false : e.value,
    })),
  }));
}

/** How many groups there are in all, for "N more groups". */
export function countFieldWarningGroups(db: Database.Database, q: Omit<FieldWarningQuery, 'limit' | 'examples'>): number {
  const where = [`r.body LIKE '%"warnings":[{%'`];
  const args: string[] = [];
  if (q.sync) {
    where.push('r.source = ?');
    args.push(q.sync);
  }
  if (q.stream) {
    where.push('r.stream = ?');
    args.push(q.stream);
  }
  const sql = `SELECT COUNT(*) FROM (SELECT 1 FROM records r, json_each(r.body, '$.warnings') w WHERE ${where.join(' AND ')}
    GROUP BY r.source, r.stream, json_extract(w.value, '$.field'), json_extract(w.value, '$.reason'))`;
  return Number(db.prepare(sql).pluck().get(...args));
}
