import type { z } from 'zod';
import { ConfigError, type TributaryError } from '../../core/errors.js';
import type { ConfiguredStream, ConnectorContext, SourceMessage, StreamState } from '../../core/plugin/types.js';
import type { Phase } from './keyset.js';
import { readKeyset, type KeysetRows } from './read-keyset.js';
import { requireKey, type KeyValue } from './state.js';

/** What `readTarget` needs of a planned stream: its key columns and where its records come from. */
export interface KeyedTarget {
  /** `table shop.customers` or `query customers`. */
  origin: string;
  cursor?: { name: string; nullable: boolean };
  primaryKey: Array<{ name: string }>;
}

/** The stream's own config, validated here too: callers other than the engine may pass it raw. */
export function parseStreamConfig<S>(schema: z.ZodType<S>, stream: ConfiguredStream<unknown>): S {
  const parsed = schema.safeParse(stream.config);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(`config.${issue.path.join('.') || '(root)'}: ${issue.message}`, { stream: stream.name });
}

/**
 * A row's key in a phase's order (`[cursor, ...pk]` for `values`, the primary
 * key otherwise); a null key value is a ConfigError naming the stream.
 * `column(name)` returns how to read that key column's value from a row; it is
 * called once per column, up front.
 */
export function targetKeyOf<R>(target: KeyedTarget, stream: string, column: (name: string) => (row: R) => KeyValue | null): (row: R, phase: Phase) => KeyValue[] {
  const pkNames = target.primaryKey.map((c) => c.name);
  const pkRead = pkNames.map(column);
  const cursorName = target.cursor?.name;
  const cursorRead = cursorName === undefined ? undefined : column(cursorName);
  const valuesNames = cursorName === undefined ? pkNames : [cursorName, ...pkNames];
  return (row, phase) => {
    const pk = pkRead.map((read) => read(row));
    if (phase !== 'values') return requireKey(pk, pkNames, stream);
    return requireKey([cursorRead ? cursorRead(row) : null, ...pk], valuesNames, stream);
  };
}

/**
 * Read one planned stream in chunks of messages: `readKeyset` with the plan
 * taken from the target's key columns and the stream's mode.
 */
export function readTarget<R>(o: {
  ctx: ConnectorContext<{ checkpointEvery: number }>;
  stream: ConfiguredStream<unknown>;
  saved: StreamState | undefined;
  target: KeyedTarget;
  rows: KeysetRows<R>;
}): AsyncGenerator<SourceMessage[]> {
  const { ctx, stream, target } = o;
  return readKeyset({
    plan: {
      stream: stream.name,
      mode: stream.mode,
      cursorField: target.cursor?.name,
      primaryKey: target.primaryKey.map((c) => c.name),
      cursorNullable: target.cursor?.nullable ?? false,
    },
    saved: o.saved,
    checkpointEvery: ctx.config.checkpointEvery,
    origin: target.origin,
    rows: o.rows,
    signal: ctx.signal,
    logger: ctx.logger,
  });
}

/** What a SQL connector's `readStream` is given: an open session and one configured stream. */
export interface SqlReadOptions<Session, C, S> {
  session: Session;
  ctx: ConnectorContext<C>;
  stream: ConfiguredStream<S>;
  saved: StreamState | undefined;
}

/**
 * Read one stream, in chunks of messages: plan it against the server, then read
 * its rows by key (`read-keyset.ts` decides the phases and the checkpoints).
 * Any failure becomes `failure(...)`'s error, naming the stream.
 */
export async function* readSqlStream<Session, C extends { checkpointEvery: number }, S, T extends KeyedTarget, R>(
  o: SqlReadOptions<Session, C, S>,
  hooks: {
    plan(session: Session, config: C, stream: ConfiguredStream<S>): Promise<T>;
    rows(target: T, stream: string): KeysetRows<R>;
    failure(err: unknown, config: C, stream: string, sync: string, connected: boolean): TributaryError;
  },
): AsyncGenerator<SourceMessage[]> {
  const { session, ctx, stream } = o;
  try {
    const target = await hooks.plan(session, ctx.config, stream);
    yield* readTarget({ ctx, stream, saved: o.saved, target, rows: hooks.rows(target, stream.name) });
  } catch (err) {
    throw hooks.failure(err, ctx.config, stream.name, ctx.name, true);
  }
}
