import { phaseClauses, type Phase } from '../sql-common/keyset.js';
import type { KeyValue } from '../sql-common/state.js';
import type { ColumnInfo } from './convert.js';

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

/**
 * A key value as a SQL literal that means the same under every sql_mode
 * (NO_BACKSLASH_ESCAPES, ANSI_QUOTES): text as a hex literal with a character
 * set introducer (`_utf8mb4 X'3230...'`), bytes as a binary hex literal, numbers
 * as digits. Nothing a value holds can end the literal.
 *
 * Integer and DECIMAL columns get a CAST: comparing them with a string compares
 * as DOUBLE, which is inexact past 2^53.
 */
export function keyLiteral(c: ColumnInfo, v: KeyValue): string {
  let lit: string;
  if (typeof v === 'object') lit = `X'${Buffer.from(v.b64, 'base64').toString('hex')}'`;
  else if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`keyLiteral: ${v} is not a finite number`);
    lit = Number.isInteger(v) ? BigInt(v).toString() : String(v);
  } else lit = `_utf8mb4 X'${Buffer.from(v, 'utf8').toString('hex')}'`;
  if (c.kind === 'int' || c.kind === 'bigint') return `CAST(${lit} AS ${c.unsigned ? 'UNSIGNED' : 'SIGNED'})`;
  if (c.kind === 'decimal') {
    const p = Math.min(Math.max(c.precision ?? 65, 1), 65);
    const sc = Math.min(Math.max(c.scale ?? 0, 0), 30, p);
    return `CAST(${lit} AS DECIMAL(${p},${sc}))`;
  }
  return lit;
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
 * One keyset page: `SELECT cols FROM t WHERE (c > x) OR (c = x AND pk > y) ORDER BY c, pk LIMIT n`.
 * Key values are written with `keyLiteral`, identifiers with `quoteIdent`; LIMIT
 * is an integer the config validated. (Server-side prepared statements would
 * avoid literals altogether, but mysql2 decodes the binary protocol about three
 * times slower than the text protocol.)
 */
export function pageSql(o: PageSqlOptions): string {
  if (!Number.isSafeInteger(o.limit) || o.limit < 1) throw new Error(`pageSql: bad limit ${o.limit}`);
  const keyCols = o.phase === 'values' ? [o.cursor!, ...o.primaryKey] : o.primaryKey;
  const { where, orderBy } = phaseClauses({
    phase: o.phase,
    cursor: o.cursor ? quoteIdent(o.cursor.name) : undefined,
    primaryKey: o.primaryKey.map((c) => quoteIdent(c.name)),
    after: o.after,
    bind: (i) => keyLiteral(keyCols[i], o.after![i]),
  });
  const cols = o.columns.map((c) => quoteIdent(c.name)).join(', ');
  return `SELECT ${cols} FROM ${o.from}${where ? ` WHERE ${where}` : ''} ORDER BY ${orderBy} LIMIT ${o.limit}`;
}
