import { MongoClient } from 'mongodb';
import { ConfigError, ConnectionError } from '../../core/errors.js';
import type { CheckResult, ConnectorContext, SourceConnector, SourceMessage, StreamDescriptor } from '../../core/plugin/types.js';
import { mongodbConfigSchema, mongodbStreamSchema, type MongodbConfig, type MongodbStreamConfig } from './config.js';
import { checkFailure, openClient, reasonOf, serverIdentity, type ServerIdentity } from './connection.js';
import { discoverCollections } from './discover.js';
import { readStream } from './read-stream.js';

/** A client for one call, or a ConfigError when the driver refuses the connection string itself. */
function connect(ctx: ConnectorContext<MongodbConfig>, server: ServerIdentity): MongoClient {
  try {
    return openClient(ctx.config);
  } catch (err) {
    throw new ConfigError(`config.url: ${reasonOf(err, server)}`, { sync: ctx.name });
  }
}

/**
 * MongoDB source: each stream reads one collection (or view) of `database`,
 * incrementally on a cursor field with `_id` as tie-breaker, or as a full
 * refresh paged by `_id`. Documents become plain JSON (see `toPlain`).
 */
export const mongodbSource: SourceConnector<MongodbConfig, MongodbStreamConfig> = {
  id: 'mongodb',
  kind: 'source',
  spec: { config: mongodbConfigSchema, stream: mongodbStreamSchema, secrets: ['url'] },

  async check(ctx): Promise<CheckResult> {
    const server = serverIdentity(ctx.config.url);
    let client: MongoClient | undefined;
    try {
      client = openClient(ctx.config);
      const db = client.db(ctx.config.database);
      await db.command({ ping: 1 });
      const collections = await db.listCollections({}, { nameOnly: true, authorizedCollections: true }).toArray();
      if (!collections.length) {
        return {
          ok: false,
          message: `database "${ctx.config.database}" on ${server.hosts} has no collections this user can read (is the name right? MongoDB creates databases on first write)`,
        };
      }
      return { ok: true };
    } catch (err) {
      return { ok: false, message: checkFailure(err, server) };
    } finally {
      await client?.close().catch(() => undefined);
    }
  },

  async discover(ctx): Promise<StreamDescriptor[]> {
    const server = serverIdentity(ctx.config.url);
    const client = connect(ctx, server);
    try {
      return await discoverCollections(client.db(ctx.config.database));
    } catch (err) {
      throw new ConnectionError(`cannot discover collections of ${ctx.config.database} on ${server.hosts}: ${reasonOf(err, server)}`, { sync: ctx.name }, { cause: err });
    } finally {
      await client.close().catch(() => undefined);
    }
  },

  async *read(ctx, streams, state): AsyncGenerator<SourceMessage> {
    const server = serverIdentity(ctx.config.url);
    const client = connect(ctx, server);
    try {
      for (const stream of streams) {
        if (ctx.signal.aborted) return;
        yield* readStream({ client, ctx, stream, saved: state[stream.name], server });
      }
    } finally {
      await client.close().catch(() => undefined);
    }
  },
};
