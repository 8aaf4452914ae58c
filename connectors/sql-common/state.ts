import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import type { JsonValue, Logger, SyncMode, StreamState } from '../../core/plugin/types.js';

/**
 * One key value as the server itself wrote it, so it can be sent back unchanged:
 * the raw DATETIME text, a BIGINT or NUMERIC as a decimal string, and binary
 * keys as base64 (`{ "b64": "..." }`). Converting it (to an ISO date, to a JS
 * number) would make the next comparison inexact.
 */
export type KeyValue = string | number | { b64: string };

const keyValue = z.union([z.string(), z.number(), z.object({ b64: z.string() }).strict()]);

/**
 * Full refresh: rows are read in primary-key order. `after` is the last key read;
 * `done` says the previous run reached the end, so the next one starts over.
 */
const fullRefreshState = z
  .object({
    v: z.literal(1),
    mode: z.literal('full_refresh'),
    primaryKey: z.array(z.string()).min(1),
    after: z.array(keyValue).nullable(),
    done: z.boolean(),
  })
  .strict();

/**
 * Incremental: rows whose cursor is NULL are read by primary key (`nullsAfter`
 * is the last such key), then rows with a cursor by (cursor, primary key)
 * (`after` is the last such pair). Each run reads both slices, from these points.
 */
const incrementalState = z
  .object({
    v: z.literal(1),
    mode: z.literal('incremental'),
    cursorField: z.string().min(1),
    primaryKey: z.array(z.string()).min(1),
    nullsAfter: z.array(keyValue).nullable(),
    after: z.object({ cursor: keyValue, pk: z.array(keyValue).min(1) }).strict().nullable(),
  })
  .strict();

export type FullRefreshState = z.infer<typeof fullRefreshState>;
export type IncrementalState = z.infer<typeof incrementalState>;
export type KeysetState = FullRefreshState | IncrementalState;

const keysetState = z.discriminatedUnion('mode', [fullRefreshState, incrementalState]);

/** What the stream reads with: the mode and the columns that order it. */
export interface KeysetPlan {
  stream: string;
  mode: SyncMode;
  /** Required in incremental mode. */
  cursorField?: string;
  /** Unique, non-null columns that break ties between equal cursor values. */
  primaryKey: string[];
  /** Whether the cursor column may hold NULL (decides if the `nulls` phase runs). */
  cursorNullable: boolean;
}

/** The state to start from when nothing was saved. */
export function initialState(plan: KeysetPlan): KeysetState {
  if (plan.mode === 'full_refresh') return { v: 1, mode: 'full_refresh', primaryKey: plan.primaryKey, after: null, done: false };
  if (!plan.cursorField) throw new ConfigError('incremental mode needs a cursor field (set `cursor` on the stream)', { stream: plan.stream });
  return { v: 1, mode: 'incremental', cursorField: plan.cursorField, primaryKey: plan.primaryKey, nullsAfter: null, after: null };
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Where to start reading from a saved state. A state written for another mode,
 * cursor or key is ignored with a warning (the stream is read again from the
 * start, which is safe: records are upserts). A state that is not one of ours
 * at all is refused: silently re-reading a large table is not what anyone wants.
 */
export function resumeState(plan: KeysetPlan, saved: StreamState | undefined, logger: Logger): KeysetState {
  const fresh = initialState(plan);
  if (!saved) return fresh;
  const parsed = keysetState.safeParse(saved);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(
      `saved state is not a state this connector wrote (${issue.path.join('.') || 'state'}: ${issue.message}); reset the stream's state to read it again from the start`,
      { stream: plan.stream },
    );
  }
  const s = parsed.data;
  let mismatch: string | undefined;
  if (s.mode !== fresh.mode) mismatch = `it was written in ${s.mode} mode`;
  else if (!sameList(s.primaryKey, plan.primaryKey)) mismatch = `it was keyed on (${s.primaryKey.join(', ')})`;
  else if (s.mode === 'incremental' && s.cursorField !== plan.cursorField) mismatch = `its cursor was ${s.cursorField}`;
  if (mismatch) {
    logger.warn(`saved state ignored, ${mismatch}: reading the stream from the start`, { stream: plan.stream });
    return fresh;
  }
  if (s.mode === 'full_refresh' && s.done) return fresh;
  return s;
}

/** Turn a state into the JSON the engine stores (a fresh object each time: the engine may keep it). */
export function toStreamState(s: KeysetState): StreamState {
  return JSON.parse(JSON.stringify(s)) as { [key: string]: JsonValue };
}

/**
 * Check that a row's primary key has no NULL (keyset pagination needs a unique,
 * non-null key). Called with the key values a connector extracted from a row.
 */
export function requireKey(values: Array<KeyValue | null>, columns: string[], stream: string): KeyValue[] {
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) {
      throw new ConfigError(
        `key column ${columns[i]} is NULL in a row; the primary key used for paging must be unique and NOT NULL`,
        { stream },
      );
    }
  }
  return values as KeyValue[];
}
