import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { PluginRegistry, builtInPluginFiles, resolvePluginSpecifier } from './loader.js';
import type { SchemaConnectors } from '../config/json-schema.js';

export interface CollectedConnectors extends SchemaConnectors {
  /** Plugins that could not be loaded, with why: their connectors are missing from the schema. */
  broken: Array<{ file: string; error: string }>;
}

/**
 * Every connector the schema should describe: the built-ins, the plugins a config
 * names in `plugins:` (read without validating the rest of it: a half-written
 * config is what the schema is for) and extra plugin specifiers (paths or packages).
 */
export async function collectSchemaConnectors(opts: { configFile?: string; plugins?: string[] } = {}): Promise<CollectedConnectors> {
  const registry = new PluginRegistry();
  for (const f of builtInPluginFiles()) await registry.loadFile(f);
  const specs: Array<{ spec: string; dir: string }> = (opts.plugins ?? []).map((spec) => ({ spec, dir: process.cwd() }));
  if (opts.configFile && existsSync(opts.configFile)) {
    const doc = parse(readFileSync(opts.configFile, 'utf8')) as { plugins?: unknown } | null;
    const dir = dirname(resolve(opts.configFile));
    if (Array.isArray(doc?.plugins)) for (const p of doc.plugins) if (typeof p === 'string') specs.push({ spec: p, dir });
  }
  const broken: CollectedConnectors['broken'] = [];
  for (const { spec, dir } of specs) {
    try {
      await registry.loadFile(resolvePluginSpecifier(spec, dir));
    } catch (err) {
      broken.push({ file: spec, error: (err as Error).message });
    }
  }
  const ids = registry.list();
  return {
    sources: ids.sources.map((id) => registry.source(id)),
    destinations: ids.destinations.map((id) => registry.destination(id)),
    broken: [...broken, ...registry.broken],
  };
}
