import { ConfigError } from '../../core/errors.js';
import type { ConfiguredStream, SourceMessage } from '../../core/plugin/types.js';
import type { Phase } from '../sql-common/keyset.js';
import type { KeysetRows } from '../sql-common/read-keyset.js';
import { parseStreamConfig, readSqlStream, targetKeyOf, type SqlReadOptions } from '../sql-common/read-target.js';
import type { KeyValue } from '../sql-common/state.js';
import { UTC } from '../sql-common/timestamps.js';
import { planQuery, planTable, type StreamTarget } from './catalog.js';
import { mysqlStreamSchema, type MysqlConfig, type MysqlStreamConfig } from './config.js';
import { readFailure, type MysqlSession } from './connection.js';
import { converterFor, toKeyValue } from './convert.js';
import { pageSql } from './sql.js';

/** A row as mysql2 builds it (a plain object, one property per selected column), turned into the record in place. */
type Row = Record<string, unknown>;

/**
 * How a row becomes a record: only the columns whose value changes are touched
 * (a second object per row costs more than converting it). Key columns are
 * never left out.
 */
function recordBuilder(target: StreamTarget, session: MysqlSession, config: MysqlConfig): (row: Row) => Record<string, unknown> {
  const keyNames = new Set([target.cursor?.name, ...target.primaryKey.map((c) => c.name)]);
  const zone = session.zone;
  if (zone instanceof ConfigError && target.columns.some((c) => c.kind === 'datetime')) throw zone;
  const options = { zone: zone instanceof ConfigError ? UTC : zone, binary: config.binary };
  const convert: Array<{ name: string; conv: (v: unknown) => unknown }> = [];
  const skip: string[] = [];
  for (const c of target.columns) {
    let conv = converterFor(c, options);
    if (conv === 'skip' && keyNames.has(c.name)) conv = converterFor(c, { ...options, binary: 'base64' });
    if (conv === 'skip') skip.push(c.name);
    else if (conv !== 'keep') convert.push({ name: c.name, conv });
  }
  const inPlace = (row: Row) => {
    for (const { name, conv } of convert) {
      const v = row[name];
      if (v !== null) row[name] = conv(v);
    }
    return row;
  };
  if (!skip.length) return inPlace;
  const kept = target.columns.map((c) => c.name).filter((n) => !skip.includes(n));
  return (row) => {
    inPlace(row);
    const data: Record<string, unknown> = {};
    for (const n of kept) data[n] = row[n];
    return data;
  };
}

/** Rows handed on at a time. Small, so rows die young: a whole 10,000-row page kept alive costs more in GC than in parsing. */
const CHUNK_ROWS = 500;

/**
 * The rows of one query, in chunks, as they arrive: the connection is paused
 * while the consumer is busy (backpressure), so memory holds a chunk, not a page.
 */
async function* streamQuery(session: MysqlSession, sql: string): AsyncGenerator<Row[]> {
  const conn = session.core;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const signal = () => {
    wake?.();
    wake = undefined;
  };
  // A streamed query has no callback, so mysql2 reports a lost or killed connection on the connection only.
  const onConnectionError = (err: unknown) => {
    failure ??= err;
    signal();
  };
  conn.on('error', onConnectionError);
  const rows = conn.query(sql).stream({ highWaterMark: CHUNK_ROWS });
  rows.on('readable', signal);
  rows.on('end', () => {
    ended = true;
    signal();
  });
  rows.on('error', (err: unknown) => {
    failure ??= err;
    signal();
  });
  try {
    for (;;) {
      const chunk: Row[] = [];
      let row: Row | null;
      while (chunk.length < CHUNK_ROWS && (row = rows.read() as Row | null) !== null) chunk.push(row);
      if (chunk.length) {
        yield chunk;
        continue;
      }
      if (failure) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    conn.removeListener('error', onConnectionError);
    if (!ended && !failure) {
      // Left early: drop the rest of this page (at most `batchSize` rows) and let the connection finish the query.
      rows.destroy();
      conn.resume();
    }
  }
}

/**
 * Pages of one phase (`LIMIT batchSize` each, keyset after the last row of the
 * previous page), streamed in small chunks.
 */
function pager(session: MysqlSession, target: StreamTarget, limit: number, keyOf: (row: Row, phase: Phase) => KeyValue[]) {
  return async function* batches(phase: Phase, after: KeyValue[] | null): AsyncGenerator<Row[]> {
    let from = after;
    for (;;) {
      let count = 0;
      let lastKey: KeyValue[] | undefined;
      for await (const chunk of streamQuery(session, pageSql({ ...target, phase, after: from, limit }))) {
        count += chunk.length;
        // Taken before the chunk is handed on: the consumer turns rows into records in place.
        lastKey = keyOf(chunk[chunk.length - 1], phase);
        yield chunk;
      }
      if (count < limit || !lastKey) return;
      from = lastKey;
    }
  };
}

/**
 * Check a stream against the server (its table and columns, or its query) and
 * decide how to read it. Throws a ConfigError naming the stream when it cannot be read.
 */
export async function planStream(session: MysqlSession, config: MysqlConfig, raw: ConfiguredStream<MysqlStreamConfig>): Promise<StreamTarget> {
  const stream = { ...raw, config: parseStreamConfig(mysqlStreamSchema, raw) };
  return stream.config.table ? planTable(session.conn, config, stream) : planQuery(session.conn, stream);
}

export type ReadStreamOptions = SqlReadOptions<MysqlSession, MysqlConfig, MysqlStreamConfig>;

/**
 * Read one stream, in chunks of messages: check it against the catalog, then page through it by key
 * (`sql-common/read-keyset.ts` decides the phases and the checkpoints).
 */
export function readStream(o: ReadStreamOptions): AsyncGenerator<SourceMessage[]> {
  const { session, ctx } = o;
  return readSqlStream(o, {
    plan: planStream,
    failure: readFailure,
    rows: (target, stream): KeysetRows<Row> => {
      // Key values are read before the row is converted (the record is the row, changed in place).
      const keyOf = targetKeyOf<Row>(target, stream, (name) => (row) => toKeyValue(row[name]));
      return { batches: pager(session, target, ctx.config.batchSize, keyOf), keyOf, toData: recordBuilder(target, session, ctx.config) };
    },
  });
}
