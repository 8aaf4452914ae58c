import type { DestinationConnector, SourceConnector } from './types.js';
import type { Resolver } from './resolver.js';
import type { Transform } from './transform.js';
import type { PluginApiVersion } from './api-version.js';
import type { LoadedConfig } from '../config/load.js';

export interface PluginDefinition {
  /** npm-style name, e.g. `@tributary/connector-mysql`. */
  name: string;
  version: string;
  /**
   * The plugin API it was written for: the major (`PLUGIN_API_VERSION`, e.g. `1`) or
   * `'major.minor'` when it relies on members added in a minor (docs/plugin-api.md).
   */
  apiVersion: PluginApiVersion;
  sources?: SourceConnector[];
  destinations?: DestinationConnector[];
  resolvers?: Resolver[];
  transforms?: Transform[];
  /**
   * Checks the plugin's part of the loaded YAML once at boot, after every plugin
   * has loaded (e.g. a resolver's settings against the traits the mappings
   * produce). Throw a ConfigError naming the file and line (`loaded.lineOf`).
   */
  validateConfig?: (loaded: LoadedConfig) => void;
}

/**
 * Declare a plugin. Export its result as the module's default export; the loader
 * finds it in `connectors/`, `plugins/`, a path or an npm package named in YAML.
 *
 * @example
 * export default definePlugin({ name: 'csv', version: '1.0.0', apiVersion: 1, sources: [csvSource] });
 */
export function definePlugin<const P extends PluginDefinition>(plugin: P): P {
  return plugin;
}
