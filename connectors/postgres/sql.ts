import { phaseClauses, type Phase } from '../sql-common/keyset.js';
import type { KeyValue } from '../sql-common/state.js';
import type { ColumnInfo } from './convert.js';

/**
 * A PostgreSQL identifier in double quotes, quotes doubled. Names reaching SQL
 * have already been matched against the catalog; quoting is the second guard.
 */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifier contains a NUL character');
  return '"' + name.replace(/"/g, '""') + '"';
}

/** A stream's SELECT as a subquery, without the trailing semicolons people leave in YAML. */
export function queryStreamSource(query: string): string {
  const body = query.trim().replace(/[;\s]+$/, '');
  return `(${body}) AS ${quoteIdent('_tributary_q')}`;
}

/** Name of the server-side cursor each phase is read through (one at a time per session). */
export const CURSOR_NAME = 'tributary_read';

export interface PhaseSqlOptions {
  from: string;
  columns: ColumnInfo[];
  cursor?: ColumnInfo;
  primaryKey: ColumnInfo[];
  phase: Phase;
  after: KeyValue[] | null;
}

/**
 * The cursor declaration for one phase:
 * `DECLARE c NO SCROLL CURSOR FOR SELECT cols FROM t WHERE (c > $1) OR (c = $1 AND pk > $2) ORDER BY c, pk`.
 * Values travel as parameters, typed by the server from the column they are compared with.
 */
export function declareSql(o: PhaseSqlOptions): { sql: string; params: string[] } {
  // Keys are the server's own text; bytes (never written by this connector) would be bytea hex input.
  const params = (o.after ?? []).map((v) => (typeof v === 'object' ? `\\x${Buffer.from(v.b64, 'base64').toString('hex')}` : String(v)));
  const { where, orderBy } = phaseClauses({
    phase: o.phase,
    cursor: o.cursor ? quoteIdent(o.cursor.name) : undefined,
    primaryKey: o.primaryKey.map((c) => quoteIdent(c.name)),
    after: o.after,
    bind: (i) => `$${i + 1}`,
  });
  const cols = o.columns.map((c) => quoteIdent(c.name)).join(', ');
  const select = `SELECT ${cols} FROM ${o.from}${where ? ` WHERE ${where}` : ''} ORDER BY ${orderBy}`;
  return { sql: `DECLARE ${quoteIdent(CURSOR_NAME)} NO SCROLL CURSOR FOR ${select}`, params };
}
