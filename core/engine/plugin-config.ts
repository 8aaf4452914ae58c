import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { LoadedConfig } from '../config/load.js';
import { describeIssue, formatPath } from '../config/load.js';
import type { SourceConfig } from '../config/schema.js';
import type { ConfiguredStream, DestinationConnector, SourceConnector } from '../plugin/types.js';
import type { PluginRegistry } from '../plugin/loader.js';

/**
 * Validate a connector's own config block against its spec, naming the YAML
 * path and line of the first problem (`sources[0].config.host: expected string`).
 */
export function parsePluginConfig<T>(
  schema: z.ZodType<T>,
  value: unknown,
  at: Array<string | number>,
  loaded: LoadedConfig,
  sync?: string,
): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = [...at, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
  throw new ConfigError(`${formatPath(path)}: ${describeIssue(issue)}`, {
    file: loaded.file,
    line: loaded.lineOf(path),
    path: formatPath(path),
    sync,
  });
}

/** A source's streams as its connector receives them, each config checked against the connector's spec. */
export function configuredStreams(
  connector: SourceConnector,
  source: SourceConfig,
  sIndex: number,
  loaded: LoadedConfig,
): ConfiguredStream[] {
  return source.streams.map((s, j) => {
    if (s.mode === 'incremental' && s.cursor === undefined && !connector.incrementalWithoutCursor) {
      const path = ['sources', sIndex, 'streams', j, 'cursor'];
      throw new ConfigError(`${formatPath(path)}: expected a column name (incremental ${connector.id} streams need a cursor; or set mode: full_refresh)`, {
        file: loaded.file,
        line: loaded.lineOf(path),
        sync: source.name,
      });
    }
    return {
      name: s.name,
      mode: s.mode,
      cursorField: s.cursor,
      primaryKey: Array.isArray(s.primaryKey) ? s.primaryKey : [s.primaryKey],
      config: connector.spec.stream ? parsePluginConfig(connector.spec.stream, s.config, ['sources', sIndex, 'streams', j, 'config'], loaded, source.name) : s.config,
    };
  });
}

/** The connector a source or destination names, or a ConfigError pointing at its `connector:` line. */
export function connectorFor<K extends 'source' | 'destination'>(
  registry: PluginRegistry,
  kind: K,
  id: string,
  at: Array<string | number>,
  loaded: LoadedConfig,
  sync?: string,
): K extends 'source' ? SourceConnector : DestinationConnector {
  try {
    return (kind === 'source' ? registry.source(id) : registry.destination(id)) as K extends 'source' ? SourceConnector : DestinationConnector;
  } catch (err) {
    const path = [...at, 'connector'];
    throw new ConfigError(`${formatPath(path)}: ${(err as Error).message}`, { file: loaded.file, line: loaded.lineOf(path), sync });
  }
}
