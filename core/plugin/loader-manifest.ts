import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LoadedConfig } from '../config/load.js';
import { PluginError } from '../errors.js';

/** The four kinds of contribution a plugin can make, as manifests and the registry name them. */
export type ContributionKind = 'source' | 'destination' | 'resolver' | 'transform';

/**
 * What a built-in plugin folder provides, told without importing its code.
 *
 * Implement it as `manifest.ts` beside a folder's `index.ts` under `connectors/` or
 * `plugins/` when the plugin ships with Tributary: boot then imports the plugin (and
 * its driver: mysql2, mongodb, ssh2, ...) only when the config names one of these ids.
 * The manifest must import nothing at run time (`import type` only), or the saving is lost.
 * A folder without one is imported at every start, as before. Plugins named in YAML
 * (`plugins:`) need none: the user asked for them, so they are always loaded.
 *
 * @example
 * export default { name: 'mysql', sources: ['mysql'], destinations: ['mysql'] } satisfies PluginManifest;
 */
export interface PluginManifest {
  /** The plugin's name, as its `definePlugin({ name })` says. */
  name: string;
  /** Module with the `definePlugin` default export, relative to the folder and without extension. Default: `index`. */
  entry?: string;
  sources?: string[];
  destinations?: string[];
  resolvers?: string[];
  transforms?: string[];
}

/** A manifest as read from disk: the module file it names, resolved. */
export interface DeclaredPlugin {
  name: string;
  /** The module to import when one of its ids is needed. */
  file: string;
  /** The manifest itself, for messages. */
  manifestFile: string;
  ids: Record<ContributionKind, string[]>;
}

export interface BuiltInPlugins {
  declared: DeclaredPlugin[];
  /** Folders with no manifest: imported at every start. */
  eager: string[];
}

/** `name.js` when compiled, `name.ts` in the source tree (vitest). */
export function moduleIn(dir: string, base: string): string | undefined {
  for (const f of [`${base}.js`, `${base}.ts`]) if (existsSync(join(dir, f))) return join(dir, f);
  return undefined;
}

const KINDS: Array<[ContributionKind, keyof PluginManifest]> = [
  ['source', 'sources'],
  ['destination', 'destinations'],
  ['resolver', 'resolvers'],
  ['transform', 'transforms'],
];

function idsOf(m: PluginManifest, manifestFile: string): Record<ContributionKind, string[]> {
  const out = { source: [], destination: [], resolver: [], transform: [] } as Record<ContributionKind, string[]>;
  for (const [kind, key] of KINDS) {
    const v = m[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((id) => typeof id !== 'string' || !id)) throw new PluginError(`manifest: \`${key}\` must be a list of ids`, { file: manifestFile });
    out[kind] = v as string[];
  }
  return out;
}

/** Import one `manifest.ts`/`.js` and resolve the module it names. A bad manifest is a PluginError naming the file. */
export async function readManifest(dir: string, manifestFile: string): Promise<DeclaredPlugin> {
  let m: PluginManifest | undefined;
  try {
    m = ((await import(pathToFileURL(manifestFile).href)) as { default?: PluginManifest }).default;
  } catch (err) {
    throw new PluginError(`manifest failed to load: ${(err as Error).message}`, { file: manifestFile });
  }
  if (!m || typeof m !== 'object' || typeof m.name !== 'string' || !m.name) throw new PluginError('manifest: the default export must be { name, sources?, destinations?, ... }', { file: manifestFile });
  const entry = m.entry ?? 'index';
  const file = moduleIn(dir, entry);
  if (!file) throw new PluginError(`manifest: entry module "${entry}" not found in ${dir}`, { file: manifestFile });
  return { name: m.name, file, manifestFile, ids: idsOf(m, manifestFile) };
}

/**
 * The plugin folders under `connectors/` and `plugins/` that `isBuiltIn` accepts:
 * those with a manifest are declared (imported later, on demand), the others eager.
 * A manifest that cannot be read makes its folder eager, so the plugin's own
 * load error (if any) is still reported as today.
 */
export async function builtInPlugins(root: string, isBuiltIn: (dir: string) => string | undefined): Promise<BuiltInPlugins> {
  const out: BuiltInPlugins = { declared: [], eager: [] };
  for (const top of ['connectors', 'plugins']) {
    const base = join(root, top);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const dir = join(base, name);
      if (!statSync(dir).isDirectory()) continue;
      const index = isBuiltIn(dir);
      if (!index) continue;
      const manifest = moduleIn(dir, 'manifest');
      if (!manifest) {
        out.eager.push(index);
        continue;
      }
      try {
        out.declared.push(await readManifest(dir, manifest));
      } catch {
        out.eager.push(index);
      }
    }
  }
  return out;
}

/** Every plugin id a config names: the connectors of its sources and destinations, its resolver, its transforms. */
export function configNeeds(loaded: Pick<LoadedConfig, 'config'>): Array<{ kind: ContributionKind; id: string }> {
  const c = loaded.config;
  const out: Array<{ kind: ContributionKind; id: string }> = [];
  for (const s of c.sources) {
    out.push({ kind: 'source', id: s.connector });
    for (const st of s.streams) for (const t of st.transforms) out.push({ kind: 'transform', id: t.use });
  }
  for (const d of c.destinations) out.push({ kind: 'destination', id: d.connector });
  out.push({ kind: 'resolver', id: c.resolution.resolver });
  return out;
}
