import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container } from 'inversify';
import { PluginRegistry, builtInPluginFiles, resolvePluginSpecifier } from './loader.js';
import { TOKENS } from '../tokens.js';
import type { SourceConnector } from './types.js';

function pluginFile(dir: string, name: string, body: string): string {
  const f = join(dir, name);
  writeFileSync(f, body);
  return f;
}

const goodSource = `{ id: 'good', kind: 'source', spec: { config: { parse: (x) => x, safeParse: (x) => ({ success: true, data: x }) } },
  check: async () => ({ ok: true }), discover: async () => [], read: async function* () {} }`;

describe('plugin loader', () => {
  it('loads the built-in connectors and plugins and binds each contribution into the container', async () => {
    const container = new Container();
    const reg = new PluginRegistry(container);
    for (const f of builtInPluginFiles()) await reg.loadFile(f);
    expect(reg.list().resolvers).toContain('deterministic');
    expect(reg.list().transforms).toContain('hash-email');
    expect(container.get(TOKENS.Resolver, { name: 'deterministic' })).toBe(reg.resolver('deterministic'));
  });

  it('refuses a plugin for another API version, naming the file, and keeps the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-plugins-'));
    const old = pluginFile(dir, 'old.mjs', `export default { name: 'old', version: '1', apiVersion: 0, sources: [] };`);
    const bad = pluginFile(dir, 'bad.mjs', `export const x = 1;`);
    const broken = pluginFile(dir, 'broken.mjs', `throw new Error('boom at import');`);
    const good = pluginFile(dir, 'good.mjs', `export default { name: 'good', version: '1', apiVersion: 1, sources: [${goodSource}] };`);
    const reg = new PluginRegistry();
    for (const f of [old, bad, broken, good]) await reg.loadFile(f);
    expect(reg.broken).toEqual([
      { file: old, error: 'not a Tributary plugin: built for plugin API 0, this Tributary supports plugin API 1.0 (apiVersion 1, or "1.0" to "1.0")' },
      { file: bad, error: 'not a Tributary plugin: the default export must be definePlugin({...})' },
      { file: broken, error: 'failed to load: boom at import' },
    ]);
    expect(reg.source('good').id).toBe('good');
    expect(() => reg.source('nope')).toThrow(/unknown source connector "nope" \(known: good\); plugins that failed to load: .*old\.mjs/);
  });

  it('refuses a plugin whose connector breaks the contract', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-plugins-'));
    const f = pluginFile(dir, 'noread.mjs', `export default { name: 'x', version: '1', apiVersion: 1, sources: [{ id: 'x', kind: 'source', spec: { config: {} } }] };`);
    const reg = new PluginRegistry();
    await reg.loadFile(f);
    expect(reg.broken[0].error).toBe('not a Tributary plugin: source "x" lacks id, spec.config or read()');
  });

  it('resolves plugins named in YAML: a relative path, a folder, an installed npm package', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-plugins-'));
    mkdirSync(join(dir, 'my-plugin'));
    pluginFile(join(dir, 'my-plugin'), 'index.js', 'export default {};');
    pluginFile(dir, 'single.mjs', 'export default {};');
    expect(resolvePluginSpecifier('./my-plugin', dir)).toBe(join(dir, 'my-plugin', 'index.js'));
    expect(resolvePluginSpecifier('./single.mjs', dir)).toBe(join(dir, 'single.mjs'));
    expect(resolvePluginSpecifier('yaml', process.cwd())).toMatch(/node_modules\/yaml\//);
    expect(() => resolvePluginSpecifier('tributary-plugin-not-installed', dir)).toThrow('npm package "tributary-plugin-not-installed" is not installed');
    expect(() => resolvePluginSpecifier('./missing.js', dir)).toThrow(/plugin file not found/);
  });

  it('two plugins may not claim the same connector id', async () => {
    const reg = new PluginRegistry();
    const src = { id: 'dup', kind: 'source', spec: {}, read() {} } as unknown as SourceConnector;
    reg.add({ name: 'a', version: '1', apiVersion: 1, sources: [src] }, 'a.js');
    expect(() => reg.add({ name: 'b', version: '1', apiVersion: 1, sources: [src] }, 'b.js')).toThrow('source connector "dup" is already provided by another plugin');
  });

  it('apiVersion: the same major with a minor no newer than the engine is accepted; a newer minor or another major is refused with the supported versions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-plugins-'));
    const make = (name: string, v: string) => pluginFile(dir, `${name}.mjs`, `export default { name: '${name}', version: '1', apiVersion: ${v}, sources: [] };`);
    const reg = new PluginRegistry();
    for (const [n, v] of [['major', '1'], ['minor', "'1.0'"], ['next-minor', "'1.1'"], ['next-major', '2'], ['next-major-minor', "'2.0'"], ['garbled', "'one'"], ['none', 'undefined']] as const) {
      await reg.loadFile(make(n, v));
    }
    expect(reg.plugins.map((p) => p.name)).toEqual(['major', 'minor']);
    const supported = 'this Tributary supports plugin API 1.0 (apiVersion 1, or "1.0" to "1.0")';
    expect(reg.broken.map((b) => b.error)).toEqual([
      `not a Tributary plugin: built for plugin API 1.1, ${supported}`,
      `not a Tributary plugin: built for plugin API 2, ${supported}`,
      `not a Tributary plugin: built for plugin API 2.0, ${supported}`,
      `not a Tributary plugin: apiVersion "one" is not a major (1) or "major.minor" ("1.0"); ${supported}`,
      `not a Tributary plugin: missing \`apiVersion\`; ${supported}`,
    ]);
    expect(reg.broken[0].file).toBe(join(dir, 'next-minor.mjs'));
  });

  it('a plugin declaring an id already taken is refused whole, named by its file, and the first one keeps working', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-plugins-'));
    const first = pluginFile(dir, 'first.mjs', `export default { name: 'first', version: '1', apiVersion: 1, sources: [${goodSource}] };`);
    const other = goodSource.replace("id: 'good'", "id: 'other'");
    const second = pluginFile(dir, 'second.mjs', `export default { name: 'second', version: '1', apiVersion: 1, sources: [${other}, ${goodSource}] };`);
    const reg = new PluginRegistry();
    await reg.loadFile(first);
    await reg.loadFile(second);
    expect(reg.broken).toEqual([{ file: second, error: 'source connector "good" is already provided by another plugin' }]);
    expect(reg.plugins.map((p) => p.name)).toEqual(['first']);
    expect(reg.source('good').id).toBe('good');
    expect(reg.list().sources).toEqual(['good']); // nothing of the refused plugin is half-registered
  });

  it('a malformed definition (sources not connectors, a transform without apply) is refused naming the plugin file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-plugins-'));
    const f1 = pluginFile(dir, 'nulls.mjs', `export default { name: 'nulls', version: '1', apiVersion: 1, sources: [null] };`);
    const f2 = pluginFile(dir, 'noapply.mjs', `export default { name: 'noapply', version: '1', apiVersion: 1, transforms: [{ id: 't' }] };`);
    const f3 = pluginFile(dir, 'noname.mjs', `export default { version: '1', apiVersion: 1 };`);
    const reg = new PluginRegistry();
    for (const f of [f1, f2, f3]) await reg.loadFile(f);
    expect(reg.broken).toEqual([
      { file: f1, error: 'not a Tributary plugin: source "?" lacks id, spec.config or read()' },
      { file: f2, error: 'not a Tributary plugin: a transform lacks id or apply()' },
      { file: f3, error: 'not a Tributary plugin: missing `name`' },
    ]);
  });
});
