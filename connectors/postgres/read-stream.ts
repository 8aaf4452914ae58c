import pg from 'pg';
import { ConfigError } from '../../core/errors.js';
import type { ConfiguredStream, SourceMessage } from '../../core/plugin/types.js';
import type { Phase } from '../sql-common/keyset.js';
import type { KeysetRows } from '../sql-common/read-keyset.js';
import { parseStreamConfig, readSqlStream, targetKeyOf, type SqlReadOptions } from '../sql-common/read-target.js';
import type { KeyValue } from '../sql-common/state.js';
import { UTC } from '../sql-common/timestamps.js';
import { planQuery, planTable, type StreamTarget } from './catalog.js';
import { postgresStreamSchema, type PostgresConfig, type PostgresStreamConfig } from './config.js';
import { readFailure, type PostgresSession } from './connection.js';
import { converterFor, toKeyValue, type Converter } from './convert.js';
import { CURSOR_NAME, declareSql, quoteIdent } from './sql.js';

type Row = Array<string | null>;

/** How each selected column becomes a record field; key columns are never left out. */
function recordBuilder(target: StreamTarget, session: PostgresSession, config: PostgresConfig): (row: Row) => Record<string, unknown> {
  const zone = session.zone;
  if (zone instanceof ConfigError && target.columns.some((c) => c.pg.kind === 'timestamp' || (c.pg.kind === 'array' && c.pg.element.kind === 'timestamp'))) throw zone;
  const options = { zone: zone instanceof ConfigError ? UTC : zone, binary: config.binary };
  const keyNames = new Set([target.cursor?.name, ...target.primaryKey.map((c) => c.name)]);
  const names = target.columns.map((c) => c.name);
  const convs: Converter[] = target.columns.map((c) => {
    const conv = converterFor(c, options);
    return conv === 'skip' && keyNames.has(c.name) ? converterFor(c, { ...options, binary: 'base64' }) : conv;
  });
  return (row) => {
    const data: Record<string, unknown> = {};
    for (let i = 0; i < convs.length; i++) {
      const conv = convs[i];
      if (conv === 'skip') continue;
      const v = row[i];
      data[names[i]] = conv === 'keep' || v === null ? v : conv(v);
    }
    return data;
  };
}

/** Rows handed on at a time, at most: the socket delivers them in smaller bursts, handed on as they come. */
const CHUNK_ROWS = 500;

/**
 * Rows of one phase through a server-side cursor, inside a read-only
 * REPEATABLE READ transaction (one snapshot for the whole phase).
 *
 * Each FETCH's rows are handed on as the driver parses them, not once the whole
 * batch is in: converted while young, they cost the garbage collector little.
 * The next FETCH is sent as soon as one completes, so at most one batch is ever
 * waiting in memory.
 */
function cursorReader(session: PostgresSession, target: StreamTarget, batchSize: number) {
  const { client } = session;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new Error(`bad batch size ${batchSize}`);
  const fetchConfig: pg.QueryArrayConfig = { text: `FETCH FORWARD ${batchSize} FROM ${quoteIdent(CURSOR_NAME)}`, rowMode: 'array' };

  return async function* batches(phase: Phase, after: KeyValue[] | null): AsyncGenerator<Row[]> {
    const { sql, params } = declareSql({ ...target, phase, after });
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const ready: Row[][] = [];
    let current: Row[] = [];
    let exhausted = false;
    let stopped = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const signal = () => {
      wake?.();
      wake = undefined;
    };
    /** Settles when the FETCH in flight (if any) has ended, well or not. */
    let inFlight: Promise<void> = Promise.resolve();
    const fetchNext = () => {
      let count = 0;
      let settle: () => void = () => undefined;
      inFlight = new Promise<void>((resolve) => (settle = resolve));
      const q = client.query(new pg.Query<Row>(fetchConfig));
      q.on('row', (row: Row) => {
        count++;
        current.push(row);
        if (current.length >= CHUNK_ROWS) {
          ready.push(current);
          current = [];
          signal();
        }
      });
      q.on('error', (err: Error) => {
        failure ??= err;
        settle();
        signal();
      });
      q.on('end', () => {
        settle();
        if (current.length) {
          ready.push(current);
          current = [];
        }
        if (count < batchSize) exhausted = true;
        else if (!stopped && !exhausted) fetchNext();
        signal();
      });
    };
    let finished = false;
    try {
      await client.query(sql, params);
      fetchNext();
      for (;;) {
        const chunk = ready.shift();
        if (chunk) {
          yield chunk;
          continue;
        }
        if (failure) throw failure;
        if (exhausted) break;
        // Rows that arrived without filling a chunk are handed on rather than waited upon.
        if (current.length) {
          const partial = current;
          current = [];
          yield partial;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
      await client.query('COMMIT');
      finished = true;
    } finally {
      stopped = true;
      // Left early (the consumer stopped, or an error): let the FETCH in flight end (one query
      // at a time on a client), then end the transaction, which closes the cursor.
      if (!finished) {
        await inFlight;
        await client.query('ROLLBACK').catch(() => undefined);
      }
    }
  };
}

/**
 * Check a stream against the server (its table and columns, or its query) and
 * decide how to read it. Throws a ConfigError naming the stream when it cannot be read.
 */
export async function planStream(session: PostgresSession, config: PostgresConfig, raw: ConfiguredStream<PostgresStreamConfig>): Promise<StreamTarget> {
  const stream = { ...raw, config: parseStreamConfig(postgresStreamSchema, raw) };
  return stream.config.table ? planTable(session.client, config, stream) : planQuery(session.client, stream);
}

export type ReadStreamOptions = SqlReadOptions<PostgresSession, PostgresConfig, PostgresStreamConfig>;

/**
 * Read one stream, in chunks of messages: check it against the catalog, then read it in key order
 * through server-side cursors (`sql-common/read-keyset.ts` decides the phases
 * and the checkpoints).
 */
export function readStream(o: ReadStreamOptions): AsyncGenerator<SourceMessage[]> {
  const { session, ctx } = o;
  return readSqlStream(o, {
    plan: planStream,
    failure: readFailure,
    rows: (target, stream): KeysetRows<Row> => {
      const index = (name: string) => target.columns.findIndex((c) => c.name === name);
      const keyOf = targetKeyOf<Row>(target, stream, (name) => {
        const i = index(name);
        return (row) => toKeyValue(row[i]);
      });
      return { batches: cursorReader(session, target, ctx.config.batchSize), keyOf, toData: recordBuilder(target, session, ctx.config) };
    },
  });
}
