import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Container } from 'inversify';
import { PluginError } from '../errors.js';
import { TOKENS } from '../tokens.js';
import type { PluginDefinition } from './define-plugin.js';
import type { LoadedConfig } from '../config/load.js';
import type { DestinationConnector, SourceConnector } from './types.js';
import { apiVersionProblem } from './api-version.js';
import type { Resolver } from './resolver.js';
import type { Transform } from './transform.js';

/** Root of the installed project: `dist/` when compiled, the source tree under vitest. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LoadedPlugin {
  name: string;
  version: string;
  file: string;
}

export interface BrokenPlugin {
  file: string;
  error: string;
}

function moduleFile(dir: string): string | undefined {
  for (const f of ['index.js', 'index.ts']) if (existsSync(join(dir, f))) return join(dir, f);
  return undefined;
}

/**
 * A folder with its own package.json that depends on tributary is a plugin published
 * on its own (plugins/example-jsonl): it imports `tributary/plugin`, so it is installed
 * or named in YAML like any third-party plugin, never loaded as a built-in.
 */
function isPublishedPlugin(dir: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>;
    return ['dependencies', 'peerDependencies', 'devDependencies'].some((k) => pkg[k]?.tributary !== undefined);
  } catch {
    return false;
  }
}

/** Plugin folders shipped with Tributary: every `connectors/*` and `plugins/*` with an index. */
export function builtInPluginFiles(root = PROJECT_ROOT): string[] {
  const out: string[] = [];
  for (const top of ['connectors', 'plugins']) {
    const base = join(root, top);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const dir = join(base, name);
      if (!statSync(dir).isDirectory() || isPublishedPlugin(dir)) continue;
      const f = moduleFile(dir);
      if (f) out.push(f);
    }
  }
  return out;
}

/** A plugin named in YAML: a path (relative to the config file) or an installed npm package. */
export function resolvePluginSpecifier(spec: string, configDir: string): string {
  if (spec.startsWith('.') || isAbsolute(spec)) {
    const p = resolve(configDir, spec);
    if (existsSync(p) && statSync(p).isDirectory()) {
      const f = moduleFile(p);
      if (!f) throw new PluginError(`no index.js in plugin folder ${p}`, { file: p });
      return f;
    }
    if (!existsSync(p)) throw new PluginError(`plugin file not found: ${p}`, { file: p });
    return p;
  }
  try {
    return createRequire(join(configDir, 'noop.js')).resolve(spec);
  } catch {
    try {
      return createRequire(join(process.cwd(), 'noop.js')).resolve(spec);
    } catch {
      throw new PluginError(`npm package "${spec}" is not installed (run npm install ${spec})`, { file: spec });
    }
  }
}

function validate(def: unknown, file: string): PluginDefinition {
  const fail = (why: string): never => {
    throw new PluginError(`not a Tributary plugin: ${why}`, { file });
  };
  if (!def || typeof def !== 'object') fail('the default export must be definePlugin({...})');
  const p = def as Partial<PluginDefinition>;
  if (typeof p.name !== 'string' || !p.name) fail('missing `name`');
  const versionProblem = apiVersionProblem(p.apiVersion);
  if (versionProblem) fail(versionProblem);
  for (const s of p.sources ?? []) {
    if (s?.kind !== 'source' || !s.id || typeof s.read !== 'function' || !s.spec?.config) fail(`source "${s?.id ?? '?'}" lacks id, spec.config or read()`);
  }
  for (const d of p.destinations ?? []) {
    if (d?.kind !== 'destination' || !d.id || typeof d.write !== 'function' || !d.spec?.config) fail(`destination "${d?.id ?? '?'}" lacks id, spec.config or write()`);
  }
  for (const r of p.resolvers ?? []) if (!r?.id || typeof r.resolve !== 'function') fail('a resolver lacks id or resolve()');
  for (const t of p.transforms ?? []) if (!t?.id || typeof t.apply !== 'function') fail('a transform lacks id or apply()');
  return p as PluginDefinition;
}

/**
 * Holds every loaded contribution. Each is also bound into the container under
 * its Symbol token, so services can ask for `getAll(TOKENS.SourceConnector)`.
 * A plugin that fails to load is kept as broken: only syncs that need it fail.
 */
export class PluginRegistry {
  readonly plugins: LoadedPlugin[] = [];
  readonly broken: BrokenPlugin[] = [];
  private readonly sources = new Map<string, SourceConnector>();
  private readonly destinations = new Map<string, DestinationConnector>();
  private readonly resolvers = new Map<string, Resolver>();
  private readonly transforms = new Map<string, Transform>();
  private readonly configChecks: Array<NonNullable<PluginDefinition['validateConfig']>> = [];

  constructor(private readonly container?: Container) {}

  async loadFile(file: string): Promise<void> {
    try {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      this.add(validate(mod.default, file), file);
    } catch (err) {
      const message = err instanceof PluginError ? err.message : `failed to load: ${(err as Error).message}`;
      this.broken.push({ file, error: message });
    }
  }

  add(def: PluginDefinition, file: string): void {
    // Check every id before registering any, so a refused plugin leaves nothing half-registered.
    const groups = [
      [this.sources, 'source connector', def.sources ?? []],
      [this.destinations, 'destination connector', def.destinations ?? []],
      [this.resolvers, 'resolver', def.resolvers ?? []],
      [this.transforms, 'transform', def.transforms ?? []],
    ] as Array<[Map<string, { id: string }>, string, Array<{ id: string }>]>;
    for (const [map, what, items] of groups) {
      const seen = new Set<string>();
      for (const item of items) {
        if (map.has(item.id) || seen.has(item.id)) throw new PluginError(`${what} "${item.id}" is already provided by another plugin`, { file });
        seen.add(item.id);
      }
    }
    for (const [map, , items] of groups) for (const item of items) map.set(item.id, item);
    if (this.container) {
      def.sources?.forEach((s) => this.container!.bind(TOKENS.SourceConnector).toConstantValue(s).whenNamed(s.id));
      def.destinations?.forEach((d) => this.container!.bind(TOKENS.DestinationConnector).toConstantValue(d).whenNamed(d.id));
      def.resolvers?.forEach((r) => this.container!.bind(TOKENS.Resolver).toConstantValue(r).whenNamed(r.id));
      def.transforms?.forEach((t) => this.container!.bind(TOKENS.Transform).toConstantValue(t).whenNamed(t.id));
    }
    this.plugins.push({ name: def.name, version: def.version, file });
    if (typeof def.validateConfig === 'function') this.configChecks.push(def.validateConfig);
  }

  /** Run every plugin's validateConfig on the loaded YAML; the first ConfigError propagates. */
  validateConfig(loaded: LoadedConfig): void {
    for (const check of this.configChecks) check(loaded);
  }

  private missing(kind: string, id: string, known: Iterable<string>): PluginError {
    const list = [...known].sort().join(', ') || 'none';
    const broken = this.broken.length ? `; plugins that failed to load: ${this.broken.map((b) => `${b.file} (${b.error})`).join('; ')}` : '';
    return new PluginError(`unknown ${kind} "${id}" (known: ${list})${broken}`);
  }

  source(id: string): SourceConnector {
    const s = this.sources.get(id);
    if (!s) throw this.missing('source connector', id, this.sources.keys());
    return s;
  }

  destination(id: string): DestinationConnector {
    const d = this.destinations.get(id);
    if (!d) throw this.missing('destination connector', id, this.destinations.keys());
    return d;
  }

  resolver(id: string): Resolver {
    const r = this.resolvers.get(id);
    if (!r) throw this.missing('resolver', id, this.resolvers.keys());
    return r;
  }

  transform(id: string): Transform {
    const t = this.transforms.get(id);
    if (!t) throw this.missing('transform', id, this.transforms.keys());
    return t;
  }

  list() {
    return {
      sources: [...this.sources.keys()].sort(),
      destinations: [...this.destinations.keys()].sort(),
      resolvers: [...this.resolvers.keys()].sort(),
      transforms: [...this.transforms.keys()].sort(),
    };
  }
}
