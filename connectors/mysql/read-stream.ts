import type { RowDataPacket } from 'mysql2/promise';
import { ConfigError } from '../../core/errors.js';
import type { ConfiguredStream, ConnectorContext, SourceMessage, StreamState } from '../../core/plugin/types.js';
import type { Phase } from '../sql-common/keyset.js';
import { readKeyset, type KeysetRows } from '../sql-common/read-keyset.js';
import { requireKey, type KeyValue } from '../sql-common/state.js';
import { UTC } from '../sql-common/timestamps.js';
import { planQuery, planTable, type StreamTarget } from './catalog.js';
import { mysqlStreamSchema, type MysqlConfig, type MysqlStreamConfig } from './config.js';
import { readFailure, type MysqlSession } from './connection.js';
import { converterFor, toKeyValue, type Converter } from './convert.js';
import { pageSql } from './sql.js';

type Row = unknown[];

/** How each selected column becomes a record field; key columns are never left out. */
function recordBuilder(target: StreamTarget, session: MysqlSession, config: MysqlConfig): (row: Row) => Record<string, unknown> {
  const keyNames = new Set([target.cursor?.name, ...target.primaryKey.map((c) => c.name)]);
  const names = target.columns.map((c) => c.name);
  const zone = session.zone;
  if (zone instanceof ConfigError && target.columns.some((c) => c.kind === 'datetime')) throw zone;
  const options = { zone: zone instanceof ConfigError ? UTC : zone, binary: config.binary };
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
      data[names[i]] = v === null ? null : conv(v);
    }
    return data;
  };
}

/** Pages of one phase, each query sent while the previous page is still being yielded. */
function pager(session: MysqlSession, target: StreamTarget, limit: number, keyOf: (row: Row, phase: Phase) => KeyValue[]) {
  const fetch = async (phase: Phase, after: KeyValue[] | null): Promise<Row[]> => {
    const { sql, params } = pageSql({ ...target, phase, after, limit });
    const [rows] = await session.conn.execute<RowDataPacket[][]>({ sql, values: params, rowsAsArray: true });
    return rows;
  };
  return async function* batches(phase: Phase, after: KeyValue[] | null): AsyncGenerator<Row[]> {
    let next = fetch(phase, after);
    for (;;) {
      const page = await next;
      const more = page.length === limit;
      if (more) {
        next = fetch(phase, keyOf(page[page.length - 1], phase));
        // If the consumer stops before awaiting it, its failure (the connection closing) is expected.
        next.catch(() => undefined);
      }
      if (page.length) yield page;
      if (!more) return;
    }
  };
}

/** The stream's own config, validated here too: callers other than the engine may pass it raw. */
function streamConfig(stream: ConfiguredStream<MysqlStreamConfig>): MysqlStreamConfig {
  const parsed = mysqlStreamSchema.safeParse(stream.config);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(`config.${issue.path.join('.') || '(root)'}: ${issue.message}`, { stream: stream.name });
}

/**
 * Check a stream against the server (its table and columns, or its query) and
 * decide how to read it. Throws a ConfigError naming the stream when it cannot be read.
 */
export async function planStream(session: MysqlSession, config: MysqlConfig, raw: ConfiguredStream<MysqlStreamConfig>): Promise<StreamTarget> {
  const stream = { ...raw, config: streamConfig(raw) };
  return stream.config.table ? planTable(session.conn, config, stream) : planQuery(session.conn, stream);
}

export interface ReadStreamOptions {
  session: MysqlSession;
  ctx: ConnectorContext<MysqlConfig>;
  stream: ConfiguredStream<MysqlStreamConfig>;
  saved: StreamState | undefined;
}

/**
 * Read one stream: check it against the catalog, then page through it by key
 * (`sql-common/read-keyset.ts` decides the phases and the checkpoints).
 */
export async function* readStream(o: ReadStreamOptions): AsyncGenerator<SourceMessage> {
  const { session, ctx } = o;
  const config = ctx.config;
  try {
    const stream = o.stream;
    const target = await planStream(session, config, stream);
    const index = (name: string) => target.columns.findIndex((c) => c.name === name);
    const pkIdx = target.primaryKey.map((c) => index(c.name));
    const pkNames = target.primaryKey.map((c) => c.name);
    const cursorIdx = target.cursor ? index(target.cursor.name) : -1;
    const keyOf = (row: Row, phase: Phase): KeyValue[] => {
      const pk = pkIdx.map((i) => toKeyValue(row[i]));
      if (phase !== 'values') return requireKey(pk, pkNames, stream.name);
      return requireKey([toKeyValue(row[cursorIdx]), ...pk], [target.cursor!.name, ...pkNames], stream.name);
    };
    const rows: KeysetRows<Row> = {
      batches: pager(session, target, config.batchSize, keyOf),
      keyOf,
      toData: recordBuilder(target, session, config),
    };
    yield* readKeyset({
      plan: {
        stream: stream.name,
        mode: stream.mode,
        cursorField: target.cursor?.name,
        primaryKey: pkNames,
        cursorNullable: target.cursor?.nullable ?? false,
      },
      saved: o.saved,
      checkpointEvery: config.checkpointEvery,
      origin: target.origin,
      rows,
      signal: ctx.signal,
      logger: ctx.logger,
    });
  } catch (err) {
    throw readFailure(err, config, o.stream.name, ctx.name, true);
  }
}
