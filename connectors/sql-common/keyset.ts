/**
 * Keyset ("seek") pagination shared by the SQL sources.
 *
 * A stream is read in a total order over its key columns: `(cursor, pk...)` for
 * an incremental stream, `(pk...)` for a full refresh. Resuming after a key means
 * "every row whose key is strictly greater", which is a lexicographic comparison.
 * It is written as a flat disjunction so both MySQL and PostgreSQL plan it as a
 * union of index ranges:
 *
 *   (c > ?) OR (c = ? AND pk > ?)
 *
 * Never `>=`: that re-reads the last row of every page, and with duplicate cursor
 * values it re-reads every row that shares the checkpointed cursor value.
 */

/**
 * The SQL for "key strictly after the given values".
 *
 * @param columns SQL expressions of the key columns, already quoted, in order.
 * @param bind    returns the placeholder expression for value `i` (and records the
 *                parameter: MySQL pushes it once per occurrence, PostgreSQL reuses `$n`).
 */
export function keysetAfter(columns: string[], bind: (i: number) => string): string {
  if (!columns.length) throw new Error('keysetAfter: no key columns');
  const terms: string[] = [];
  for (let k = 0; k < columns.length; k++) {
    const parts: string[] = [];
    for (let j = 0; j < k; j++) parts.push(`${columns[j]} = ${bind(j)}`);
    parts.push(`${columns[k]} > ${bind(k)}`);
    terms.push(`(${parts.join(' AND ')})`);
  }
  return terms.length === 1 ? terms[0] : `(${terms.join(' OR ')})`;
}

/** Which slice of the stream one query reads, and in which order. */
export type Phase =
  /** Full refresh: every row, ordered by primary key. */
  | 'all'
  /** Incremental, rows whose cursor is NULL, ordered by primary key. */
  | 'nulls'
  /** Incremental, rows whose cursor is set, ordered by (cursor, primary key). */
  | 'values';

/** The key columns of one phase: the primary key, preceded by the cursor in the `values` phase. */
export function phaseKeyColumns(phase: Phase, cursorField: string | undefined, primaryKey: string[]): string[] {
  if (phase !== 'values') return primaryKey;
  if (!cursorField) throw new Error('phaseKeyColumns: the values phase needs a cursor field');
  return [cursorField, ...primaryKey];
}

export interface PhaseSqlOptions {
  phase: Phase;
  /** Quoted cursor column (incremental streams). */
  cursor?: string;
  /** Quoted primary key columns. */
  primaryKey: string[];
  /** Resume strictly after this key (`[cursor, ...pk]` for `values`, `pk` otherwise); null from the start. */
  after: unknown[] | null;
  /** Placeholder for value `i` of `after`; see `keysetAfter`. */
  bind: (i: number) => string;
}

/** WHERE and ORDER BY clauses (without the keywords) for one phase. */
export function phaseClauses(o: PhaseSqlOptions): { where: string | null; orderBy: string } {
  const conds: string[] = [];
  let keyCols: string[];
  if (o.phase === 'all') {
    keyCols = o.primaryKey;
  } else {
    if (!o.cursor) throw new Error(`phaseClauses: phase ${o.phase} needs a cursor column`);
    if (o.phase === 'nulls') {
      conds.push(`${o.cursor} IS NULL`);
      keyCols = o.primaryKey;
    } else {
      keyCols = [o.cursor, ...o.primaryKey];
      // Only needed on the first page: `c > ?` already excludes NULL.
      if (!o.after) conds.push(`${o.cursor} IS NOT NULL`);
    }
  }
  if (o.after) {
    if (o.after.length !== keyCols.length) throw new Error(`phaseClauses: expected ${keyCols.length} key values, got ${o.after.length}`);
    conds.push(keysetAfter(keyCols, o.bind));
  }
  return { where: conds.length ? conds.join(' AND ') : null, orderBy: keyCols.join(', ') };
}
