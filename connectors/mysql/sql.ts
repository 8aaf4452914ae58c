import { phaseClauses, type Phase } from '../sql-common/keyset.js';
import type { KeyValue } from '../sql-common/state.js';
import { fromKeyValue, placeholderFor, type ColumnInfo } from './convert.js';

/**
 * A MySQL identifier in backticks, backticks doubled. Names reaching SQL have
 * already been matched against information_schema; quoting is the second guard.
 */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('identifier contains a NUL character');
  return '`' + name.replace(/`/g, '``') + '`';
}

/** A stream's SELECT as a derived table, without the trailing semicolons people leave in YAML. */
export function queryStreamSource(query: string): string {
  const body = query.trim().replace(/[;\s]+$/, '');
  return `(${body}) AS ${quoteIdent('_tributary_q')}`;
}

export interface PageSqlOptions {
  from: string;
  columns: ColumnInfo[];
  cursor?: ColumnInfo;
  primaryKey: ColumnInfo[];
  phase: Phase;
  after: KeyValue[] | null;
  limit: number;
}

/**
 * One keyset page: `SELECT cols FROM t WHERE (c > ?) OR (c = ? AND pk > ?) ORDER BY c, pk LIMIT n`.
 * Parameters are sent apart from the SQL (a server-side prepared statement), so
 * no value is ever spliced into the text; LIMIT is an integer the config validated.
 */
export function pageSql(o: PageSqlOptions): { sql: string; params: Array<string | number | Buffer> } {
  if (!Number.isSafeInteger(o.limit) || o.limit < 1) throw new Error(`pageSql: bad limit ${o.limit}`);
  const keyCols = o.phase === 'values' ? [o.cursor!, ...o.primaryKey] : o.primaryKey;
  const params: Array<string | number | Buffer> = [];
  const { where, orderBy } = phaseClauses({
    phase: o.phase,
    cursor: o.cursor ? quoteIdent(o.cursor.name) : undefined,
    primaryKey: o.primaryKey.map((c) => quoteIdent(c.name)),
    after: o.after,
    bind: (i) => {
      params.push(fromKeyValue(o.after![i]));
      return placeholderFor(keyCols[i]);
    },
  });
  const cols = o.columns.map((c) => quoteIdent(c.name)).join(', ');
  const sql = `SELECT ${cols} FROM ${o.from}${where ? ` WHERE ${where}` : ''} ORDER BY ${orderBy} LIMIT ${o.limit}`;
  return { sql, params };
}
