import type { Logger, SourceMessage, StreamState } from '../../core/plugin/types.js';
import type { Phase } from './keyset.js';
import { resumeState, toStreamState, type KeysetPlan, type KeysetState, type KeyValue } from './state.js';

/**
 * What a SQL connector provides to `readKeyset`: its rows of one phase, in key
 * order, and how to see a row's key and its record. Implement it once per
 * database (MySQL pages with LIMIT, PostgreSQL FETCHes from a server cursor);
 * the checkpoint logic stays here, in one place.
 *
 * @example
 * const rows: KeysetRows<unknown[]> = {
 *   async *batches(phase, after) { yield await queryPage(phase, after); },
 *   keyOf: (row, phase) => phase === 'values' ? [row[2], row[0]] : [row[0]],
 *   toData: (row) => ({ id: row[0], email: row[1] }),
 * };
 */
export interface KeysetRows<R> {
  /**
   * Rows of `phase` whose key is strictly after `after` (all of them when null),
   * in key order, in batches. A batch may be empty only at the end.
   */
  batches(phase: Phase, after: KeyValue[] | null): AsyncIterable<R[]>;
  /** The row's key in the phase's order (`[cursor, ...pk]` for `values`, the primary key otherwise). */
  keyOf(row: R, phase: Phase): KeyValue[];
  /** The record the row becomes. May change the row in place: `keyOf` is never called on a row after this. */
  toData(row: R): Record<string, unknown>;
}

export interface ReadKeysetOptions<R> {
  plan: KeysetPlan;
  saved: StreamState | undefined;
  /** Yield a state message after this many records. */
  checkpointEvery: number;
  /** `origin` of every record (`table shop.customers`). */
  origin: string;
  rows: KeysetRows<R>;
  signal: AbortSignal;
  logger: Logger;
}

/**
 * Read one stream and say where to resume. Each state message comes after the
 * records it covers, so a run that stops anywhere resumes without losing or
 * repeating a row; the last message is always a state (even when nothing was new).
 *
 * Messages come in chunks (one per batch of rows): the caller yields them one by
 * one. Passing single records through several layers of async generators costs
 * more than reading them from the server.
 */
export async function* readKeyset<R>(o: ReadKeysetOptions<R>): AsyncGenerator<SourceMessage[]> {
  const { plan, rows, origin, checkpointEvery } = o;
  const stream = plan.stream;
  const state: KeysetState = resumeState(plan, o.saved, o.logger);
  const emit = (): SourceMessage => ({ type: 'state', stream, state: toStreamState(state) });
  let sinceCheckpoint = 0;

  /** Read one phase; `advance` moves the state past a row's key. Returns false when aborted. */
  async function* phase(name: Phase, after: KeyValue[] | null, advance: (key: KeyValue[]) => void): AsyncGenerator<SourceMessage[], boolean> {
    let lastKey: KeyValue[] | undefined;
    for await (const batch of rows.batches(name, after)) {
      if (!batch.length) continue;
      // Keys are taken before `toData`, which may turn the row into the record in place.
      const batchLastKey = rows.keyOf(batch[batch.length - 1], name);
      const out: SourceMessage[] = [];
      for (let i = 0; i < batch.length; i++) {
        const row = batch[i];
        const checkpoint = ++sinceCheckpoint >= checkpointEvery;
        const key = checkpoint ? (i === batch.length - 1 ? batchLastKey : rows.keyOf(row, name)) : undefined;
        out.push({ type: 'record', stream, data: rows.toData(row), origin });
        if (key) {
          sinceCheckpoint = 0;
          advance(key);
          out.push(emit());
        }
      }
      lastKey = batchLastKey;
      if (o.signal.aborted) {
        // Stop at a clean point: a state for the last record yielded.
        advance(lastKey);
        if (sinceCheckpoint > 0) out.push(emit());
        yield out;
        return false;
      }
      yield out;
    }
    if (lastKey) advance(lastKey);
    return true;
  }

  if (state.mode === 'full_refresh') {
    const done = yield* phase('all', state.after, (key) => {
      state.after = key;
    });
    if (!done) return;
    state.done = true;
    yield [emit()];
    return;
  }

  if (plan.cursorNullable) {
    const done = yield* phase('nulls', state.nullsAfter, (key) => {
      state.nullsAfter = key;
    });
    if (!done) return;
  }
  const after = state.after ? [state.after.cursor, ...state.after.pk] : null;
  const done = yield* phase('values', after, (key) => {
    state.after = { cursor: key[0], pk: key.slice(1) };
  });
  if (!done) return;
  yield [emit()];
}
