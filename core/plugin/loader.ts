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
import { builtInPlugins, moduleIn, type ContributionKind, type DeclaredPlugin } from './loader-manifest.js';

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
  return moduleIn(dir, 'index');
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

/** The index module of a folder that is a built-in plugin, or undefined. */
function builtInIndex(dir: string): string | undefined {
  return isPublishedPlugin(dir) ? undefined : moduleFile(dir);
}

/**
 * Make the built-in plugins available to `registry` the cheap way: a folder with a
 * `manifest.ts` is only declared (imported by `need()` when a config names one of its
 * ids), a folder without one is imported now. `builtInPluginFiles` + `loadFile` still
 * imports them all, for commands that need every connector (schema, test connector).
 */
export async function declareBuiltIns(registry: PluginRegistry, root = PROJECT_ROOT): Promise<void> {
  const { declared, eager } = await builtInPlugins(root, builtInIndex);
  for (const d of declared) registry.declare(d);
  for (const f of eager) await registry.loadFile(f);
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
const kindOf: Record<string, ContributionKind> = {
  'source connector': 'source',
  'destination connector': 'destination',
  resolver: 'resolver',
  transform: 'transform',
};

export class PluginRegistry {
  readonly plugins: LoadedPlugin[] = [];
  readonly broken: BrokenPlugin[] = [];
  private readonly sources = new Map<string, SourceConnector>();
  private readonly destinations = new Map<string, DestinationConnector>();
  private readonly resolvers = new Map<string, Resolver>();
  private readonly transforms = new Map<string, Transform>();
  private readonly configChecks: Array<NonNullable<PluginDefinition['validateConfig']>> = [];
  /** `kind:id` -> the built-in that declares it in its manifest, imported on first need. */
  private readonly declared = new Map<string, DeclaredPlugin>();
  private readonly attempted = new Set<string>();
  /** `kind:id` -> name of the plugin that provides it, for messages about a misbehaving connector. */
  private readonly providers = new Map<string, string>();

  constructor(private readonly container?: Container) {}

  /** Note what a built-in provides without importing it (see PluginManifest). */
  declare(d: DeclaredPlugin): void {
    for (const [kind, ids] of Object.entries(d.ids) as Array<[ContributionKind, string[]]>) for (const id of ids) if (!this.declared.has(`${kind}:${id}`)) this.declared.set(`${kind}:${id}`, d);
  }

  /** Import the built-in that declares `kind` `id`, unless it is loaded already or nothing declares it (then the sync accessor reports it unknown). */
  async need(kind: ContributionKind, id: string): Promise<void> {
    const d = this.declared.get(`${kind}:${id}`);
    if (!d || this.attempted.has(d.file) || this.mapOf(kind).has(id)) return;
    await this.loadFile(d.file);
  }

  async needAll(items: Iterable<{ kind: ContributionKind; id: string }>): Promise<void> {
    for (const { kind, id } of items) await this.need(kind, id);
  }

  private mapOf(kind: ContributionKind): Map<string, { id: string }> {
    return { source: this.sources, destination: this.destinations, resolver: this.resolvers, transform: this.transforms }[kind];
  }

  async loadFile(file: string): Promise<void> {
    this.attempted.add(file);
    try {
      const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
      const def = validate(mod.default, file);
      this.checkManifest(def, file);
      this.add(def, file);
    } catch (err) {
      const message = err instanceof PluginError ? err.message : `failed to load: ${(err as Error).message}`;
      this.broken.push({ file, error: message });
    }
  }

  /** A built-in must provide what its manifest declares, or a config naming a declared id would fail in a confusing way. */
  private checkManifest(def: PluginDefinition, file: string): void {
    const given: Record<ContributionKind, Array<{ id: string }>> = { source: def.sources ?? [], destination: def.destinations ?? [], resolver: def.resolvers ?? [], transform: def.transforms ?? [] };
    const manifest = [...this.declared.values()].find((d) => d.file === file);
    if (!manifest) return;
    for (const kind of Object.keys(given) as ContributionKind[]) {
      const has = given[kind].map((x) => x.id);
      const missing = manifest.ids[kind].find((id) => !has.includes(id));
      if (missing) throw new PluginError(`its manifest (${manifest.manifestFile}) declares ${kind} "${missing}" but the plugin does not provide it`, { file });
      const extra = has.find((id) => !manifest.ids[kind].includes(id));
      if (extra) throw new PluginError(`it provides ${kind} "${extra}" but its manifest (${manifest.manifestFile}) does not declare it, so no config could load it`, { file });
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
        const owner = this.declared.get(`${kindOf[what]}:${item.id}`);
        if (owner && owner.file !== file) throw new PluginError(`${what} "${item.id}" is already provided by another plugin (${owner.name})`, { file });
        seen.add(item.id);
      }
    }
    for (const [map, what, items] of groups) {
      for (const item of items) {
        map.set(item.id, item);
        this.providers.set(`${kindOf[what]}:${item.id}`, def.name);
      }
    }
    if (this.container) {
      def.sources?.forEach((s) => this.container!.bind(TOKENS.SourceConnector).toConstantValue(s).whenNamed(s.id));
      def.destinations?.forEach((d) => this.container!.bind(TOKENS.DestinationConnector).toConstantValue(d).whenNamed(d.id));
      def.resolvers?.forEach((r) => this.container!.bind(TOKENS.Resolver).toConstantValue(r).whenNamed(r.id));
      def.transforms?.forEach((t) => this.container!.bind(TOKENS.Transform).toConstantValue(t).whenNamed(t.id));
    }
    this.plugins.push({ name: def.name, version: def.version, file });
    if (typeof def.validateConfig === 'function') this.configChecks.push(def.validateConfig);
  }

  /** The plugin that provides `kind` `id`, as `connector "x" (plugin y)` for messages. */
  describe(kind: ContributionKind, id: string): string {
    const p = this.providers.get(`${kind}:${id}`);
    return p && p !== id ? `connector "${id}" (plugin ${p})` : `connector "${id}"`;
  }

  /** Run every plugin's validateConfig on the loaded YAML; the first ConfigError propagates. */
  validateConfig(loaded: LoadedConfig): void {
    for (const check of this.configChecks) check(loaded);
  }

  private missing(kind: string, id: string, known: Iterable<string>): PluginError {
    const k = kindOf[kind];
    const d = this.declared.get(`${k}:${id}`);
    // A programming error, not a user's: boot needs every id the config names, a command naming another must call need() first.
    if (d && !this.attempted.has(d.file)) return new PluginError(`${kind} "${id}" (plugin ${d.name}) is not loaded yet: call need('${k}', '${id}') before using it`);
    const declared = [...this.declared].filter(([key, p]) => key.startsWith(`${k}:`) && !this.attempted.has(p.file)).map(([key]) => key.slice(k.length + 1));
    const list = [...new Set([...known, ...declared])].sort().join(', ') || 'none';
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
