import 'reflect-metadata';
import { Container } from 'inversify';
import { dirname, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { loadConfigFile, type LoadedConfig } from './config/load.js';
import { collectConnectorSecrets } from './config/connector-secrets.js';
import { Engine } from './engine/engine.js';
import { PluginRegistry, declareBuiltIns, resolvePluginSpecifier } from './plugin/loader.js';
import { configNeeds } from './plugin/loader-manifest.js';
import type { Logger } from './plugin/types.js';
import type { PluginDefinition } from './plugin/define-plugin.js';
import { SqliteStore } from './store/sqlite-store.js';
import { describeUrl } from './store/pg/pg-url.js';
import type { ProfileStore } from './store/types.js';
import { TOKENS, type Clock } from './tokens.js';
import { consoleLogger, Redactor, type LogLevel } from './util/logger.js';

export interface BootOptions {
  configFile: string;
  logLevel?: LogLevel;
  jsonLogs?: boolean;
  logger?: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Replace the store the config names (tests). */
  store?: ProfileStore;
  /** Plugins given as objects rather than files (tests, embedding). */
  plugins?: PluginDefinition[];
}

export interface Booted {
  container: Container;
  loaded: LoadedConfig;
  engine: Engine;
  store: ProfileStore;
  registry: PluginRegistry;
  logger: Logger;
  redactor: Redactor;
  close(): Promise<void>;
}

/** The folder relative paths in a config resolve against: the config file's own. */
export function configDirOf(loaded: Pick<LoadedConfig, 'file'>): string {
  return dirname(resolve(loaded.file));
}

/**
 * Where the store lives, as opened: a relative SQLite path resolves against the config file's folder;
 * a PostgreSQL store is its URL without the password (and its schema), safe to print.
 */
export function storeLocation(loaded: LoadedConfig): string {
  const s = loaded.config.store;
  if ('sqlite' in s) return s.sqlite === ':memory:' ? s.sqlite : resolve(configDirOf(loaded), s.sqlite);
  return `${describeUrl(s.postgres)}${s.schema ? ` schema ${s.schema}` : ''}`;
}

/** Opens the store the config names; a PostgreSQL store creates or migrates its tables (under a lock) first. */
export async function openStore(loaded: LoadedConfig): Promise<ProfileStore> {
  const s = loaded.config.store;
  if ('sqlite' in s) return new SqliteStore(storeLocation(loaded), { commitThread: s.commitThread });
  // Imported here, not at the top: a config on SQLite never loads the PostgreSQL driver (start-up time).
  const { PgStore } = await import('./store/pg/pg-store.js');
  return PgStore.open({ url: s.postgres, schema: s.schema, max: s.pool });
}

/** Load config and plugins, open the store, and wire everything in one container. */
export async function boot(opts: BootOptions): Promise<Booted> {
  const loaded = loadConfigFile(opts.configFile, { env: opts.env });
  const redactor = new Redactor(loaded.secrets);
  const logger = opts.logger ?? consoleLogger({ level: opts.logLevel ?? 'info', json: opts.jsonLogs ?? false, redactor });
  const container = new Container();
  const registry = new PluginRegistry(container);
  // Built-ins with a manifest are imported below only if the config names them: a csv-only config loads no database driver.
  await declareBuiltIns(registry);
  const configDir = configDirOf(loaded);
  loaded.config.plugins.forEach((spec, i) => {
    try {
      resolvePluginSpecifier(spec, configDir);
    } catch (err) {
      throw new ConfigError(`plugins[${i}]: ${(err as Error).message}`, { file: loaded.file, line: loaded.lineOf(['plugins', i]) });
    }
  });
  for (const spec of loaded.config.plugins) await registry.loadFile(resolvePluginSpecifier(spec, configDir));
  for (const p of opts.plugins ?? []) registry.add(p, `(in-process) ${p.name}`);
  await registry.needAll(configNeeds(loaded));
  for (const b of registry.broken) logger.warn(`plugin refused: ${b.file}: ${b.error}`);
  collectConnectorSecrets(loaded, registry, logger);
  registry.validateConfig(loaded);

  const store = opts.store ?? (await openStore(loaded));
  container.bind(TOKENS.LoadedConfig).toConstantValue(loaded);
  container.bind(TOKENS.ProfileStore).toConstantValue(store);
  container.bind(TOKENS.PluginRegistry).toConstantValue(registry);
  container.bind(TOKENS.Logger).toConstantValue(logger);
  container.bind(TOKENS.Clock).toConstantValue(opts.clock ?? { now: () => new Date() });
  container.bind(TOKENS.Engine).to(Engine).inSingletonScope();
  const engine = container.get<Engine>(TOKENS.Engine);
  return { container, loaded, engine, store, registry, logger, redactor, close: () => store.close() };
}
