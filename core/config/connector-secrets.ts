import type { LoadedConfig } from './load.js';
import type { PluginRegistry } from '../plugin/loader.js';
import type { ConnectorSpec, Logger } from '../plugin/types.js';

/** Strings at a dotted path of a config; a path that ends on an object or list gives every string under it. */
function stringsAt(value: unknown, path: string[]): string[] {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return [];
    v = (v as Record<string, unknown>)[p];
  }
  const out: string[] = [];
  const walk = (x: unknown) => {
    if (typeof x === 'string') out.push(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(v);
  return out;
}

/**
 * Values of the fields each connector marks secret (`spec.secrets`) join the
 * redaction set, even when the YAML holds them in plain text; such a value
 * gets one warning, since it belongs in `${ENV}` or `${file:...}`.
 */
export function collectConnectorSecrets(loaded: LoadedConfig, registry: PluginRegistry, logger: Logger): void {
  const visit = (kind: 'source' | 'destination', name: string, connectorId: string, config: Record<string, unknown>, at: Array<string | number>) => {
    let spec: ConnectorSpec<unknown> | undefined;
    try {
      spec = kind === 'source' ? registry.source(connectorId).spec : registry.destination(connectorId).spec;
    } catch {
      return; // an unknown connector is reported where it is used
    }
    for (const field of spec.secrets ?? []) {
      for (const value of stringsAt(config, field.split('.'))) {
        if (value.length < 4) continue;
        if (!loaded.secrets.has(value)) {
          const line = loaded.lineOf([...at, 'config', ...field.split('.')]);
          logger.warn(`${loaded.file}${line ? `:${line}` : ''}: ${kind} ${name}: config.${field} is a secret written in plain text; use \${ENV_VAR} or \${file:/path}`);
        }
        loaded.secrets.add(value);
      }
    }
  };
  loaded.config.sources.forEach((s, i) => visit('source', s.name, s.connector, s.config, ['sources', i]));
  loaded.config.destinations.forEach((d, i) => visit('destination', d.name, d.connector, d.config, ['destinations', i]));
}
