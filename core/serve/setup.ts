import type { LoadedConfig } from '../config/load.js';
import type { ServeConfig } from '../config/schema.js';
import { configDirOf, storeLocation } from '../container.js';
import { ConfigError } from '../errors.js';
import { configuredStreams, connectorFor, parsePluginConfig } from '../engine/plugin-config.js';
import type { PluginRegistry } from '../plugin/loader.js';
import type { Logger } from '../plugin/types.js';
import { openInbox } from './threaded-inbox.js';
import type { InboxBackend } from './server.js';
import type { InboundRoute } from './contract.js';
import { TributaryServer } from './server.js';
import { WriteKeys } from './tracking/handler.js';

/** The id of the built-in tracking connector, whose write keys the server routes by. */
export const TRACKING_CONNECTOR = 'tracking';

/**
 * Build the server a config describes: write keys of every `tracking` source,
 * the `inbound` routes of every source whose connector has them, and an inbox
 * writer on the store file (its own connection).
 */
export function buildServer(
  loaded: LoadedConfig,
  registry: PluginRegistry,
  logger: Logger,
  overrides: Partial<ServeConfig> = {},
  pgInbox?: InboxBackend,
): TributaryServer {
  const config: ServeConfig = { ...loaded.config.serve, ...overrides };
  const store = loaded.config.store;
  if (!('postgres' in store) && (!('sqlite' in store) || store.sqlite === ':memory:')) {
    throw new ConfigError('store: `tributary serve` needs a SQLite store file or a PostgreSQL store (the inbox is shared with the syncs that drain it)', { file: loaded.file, line: loaded.lineOf(['store']) });
  }
  const keys = new WriteKeys();
  const routes: InboundRoute[] = [];
  const seen = new Map<string, string>();
  loaded.config.sources.forEach((source, i) => {
    const at = ['sources', i];
    const connector = connectorFor(registry, 'source', source.connector, at, loaded, source.name);
    if (connector.id !== TRACKING_CONNECTOR && !connector.inbound) return;
    const cfg = parsePluginConfig(connector.spec.config, source.config, [...at, 'config'], loaded, source.name);
    const streams = configuredStreams(connector, source, i, loaded);
    if (connector.id === TRACKING_CONNECTOR) {
      const target = { source: source.name, streams: new Set(streams.map((s) => s.name)) };
      for (const k of (cfg as { writeKeys: string[] }).writeKeys) {
        const other = seen.get(k);
        if (other && other !== source.name) {
          throw new ConfigError(`sources[${i}].config.writeKeys: a write key of source ${source.name} is also one of source ${other}`, {
            file: loaded.file,
            line: loaded.lineOf([...at, 'config', 'writeKeys']),
          });
        }
        seen.set(k, source.name);
        keys.add(k, target);
      }
    }
    const ctx = { name: source.name, config: cfg, logger, metrics: { count: () => undefined }, signal: new AbortController().signal, baseDir: configDirOf(loaded) };
    for (const r of connector.inbound?.(ctx, streams) ?? []) {
      if (r.path.startsWith('/v1/') || ['/healthz', '/readyz', '/metrics'].includes(r.path)) {
        throw new ConfigError(`source ${source.name}: connector ${connector.id} asks for ${r.path}, a path serve keeps for itself`, { file: loaded.file, line: loaded.lineOf(at) });
      }
      if (routes.some((x) => x.method === r.method && x.path === r.path)) {
        throw new ConfigError(`source ${source.name}: route ${r.method} ${r.path} is already taken by another source`, { file: loaded.file, line: loaded.lineOf(at) });
      }
      routes.push(r);
    }
  });
  // PostgreSQL: the writer's own pool on the store's database (and schema, when the store config names one).
  if ('postgres' in store && !pgInbox) throw new Error('buildServer: a PostgreSQL store needs its inbox opened first (openPgInbox)');
  const inbox = 'postgres' in store ? pgInbox! : openInbox(storeLocation(loaded), { durability: config.durability });
  return new TributaryServer({ config, inbox, keys, routes, logger });
}

/**
 * The inbox of a PostgreSQL store, for buildServer. Imported when asked for, so a config on
 * SQLite never loads the PostgreSQL driver; undefined for a SQLite store.
 */
export async function openPgInbox(loaded: LoadedConfig, overrides: Partial<ServeConfig> = {}): Promise<InboxBackend | undefined> {
  const store = loaded.config.store;
  if (!('postgres' in store)) return undefined;
  const { PgInboxWriter } = await import('../store/pg/pg-inbox.js');
  return new PgInboxWriter({ url: store.postgres, schema: store.schema }, { durability: overrides.durability ?? loaded.config.serve.durability });
}
