import { ConfigError, ConnectionError, TributaryError } from '../../core/errors.js';
import type { CheckResult, ConnectorContext, SourceConnector, SourceMessage, StreamDescriptor } from '../../core/plugin/types.js';
import { discoverTables } from './catalog.js';
import { postgresConfigSchema, postgresStreamSchema, type PostgresConfig, type PostgresStreamConfig } from './config.js';
import { checkFailure, closeSession, openSession, readFailure, reasonOf, serverLabel, type PostgresSession } from './connection.js';
import { planStream, readStream } from './read-stream.js';

/**
 * PostgreSQL source. Each stream reads a table or view (or a SELECT):
 * incrementally on a (cursor, primary key) keyset, or as a full refresh in
 * primary-key order, through server-side cursors in read-only transactions,
 * with a resumable state every `checkpointEvery` rows. See README.md for the
 * type mapping and the state shape.
 */
export const postgresSource: SourceConnector<PostgresConfig, PostgresStreamConfig> = {
  id: 'postgres',
  kind: 'source',
  spec: { config: postgresConfigSchema, stream: postgresStreamSchema, secrets: ['password'] },

  async check(ctx, streams): Promise<CheckResult> {
    let session: PostgresSession | undefined;
    try {
      session = await openSession(ctx.config);
      await session.client.query('SELECT 1');
      // Configured streams: their tables, columns and queries must be readable too.
      for (const stream of streams ?? []) {
        try {
          await planStream(session, ctx.config, stream);
        } catch (err) {
          const failure = readFailure(err, ctx.config, stream.name, ctx.name, true);
          return { ok: false, message: `stream ${stream.name}: ${failure.message}` };
        }
      }
      return { ok: true };
    } catch (err) {
      if (err instanceof ConfigError) return { ok: false, message: `postgres at ${serverLabel(ctx.config)}: ${err.message}` };
      return { ok: false, message: checkFailure(err, ctx.config) };
    } finally {
      await closeSession(session);
    }
  },

  async discover(ctx): Promise<StreamDescriptor[]> {
    let session: PostgresSession | undefined;
    try {
      session = await openSession(ctx.config);
      return await discoverTables(session.client, ctx.config);
    } catch (err) {
      if (err instanceof TributaryError) throw err;
      throw new ConnectionError(`cannot list the tables of ${ctx.config.database} on postgres at ${serverLabel(ctx.config)}: ${reasonOf(err, ctx.config)}`, { sync: ctx.name }, { cause: err });
    } finally {
      await closeSession(session);
    }
  },

  async *read(ctx: ConnectorContext<PostgresConfig>, streams, state): AsyncGenerator<SourceMessage> {
    if (!streams.length) return;
    let session: PostgresSession | undefined;
    try {
      session = await openSession(ctx.config);
    } catch (err) {
      // The first stream is named: the connection was opened to read it.
      throw readFailure(err, ctx.config, streams[0].name, ctx.name, false);
    }
    try {
      for (const stream of streams) {
        if (ctx.signal.aborted) return;
        for await (const chunk of readStream({ session, ctx, stream, saved: state[stream.name] })) for (const m of chunk) yield m;
      }
    } finally {
      await closeSession(session);
    }
  },
};
