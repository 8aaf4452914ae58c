import type { DestinationConnector, SourceConnector } from './types.js';
import type { Resolver } from '../resolution/types.js';
import type { Transform } from '../engine/transform.js';
import type { LoadedConfig } from '../config/load.js';

export interface PluginDefinition {
  /** npm-style name, e.g. `@tributary/connector-mysql`. */
  name: string;
  version: string;
  /** The plugin API major this plugin was written for (PLUGIN_API_VERSION). */
  apiVersion: number;
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
