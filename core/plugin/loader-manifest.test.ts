import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginRegistry, builtInPluginFiles, declareBuiltIns } from './loader.js';
import { builtInPlugins, configNeeds } from './loader-manifest.js';
import { PROJECT_ROOT } from './loader.js';
import { loadConfigFile } from '../config/load.js';

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

const source = (id: string) => `{ id: '${id}', kind: 'source', spec: { config: { parse: (x) => x, safeParse: (x) => ({ success: true, data: x }) } },
  check: async () => ({ ok: true }), discover: async () => [], read: async function* () {} }`;
const plugin = (name: string, ids: string[]) => `export default { name: '${name}', version: '1', apiVersion: 1, sources: [${ids.map(source).join(', ')}] };`;

/** A project root with `connectors/<name>/{index.js, manifest.js?}` folders, as the loader finds built-ins. */
function projectRoot(folders: Record<string, { index: string; manifest?: string }>): string {
  const root = mkdtempSync(join(tmpdir(), 'trib-manifest-'));
  roots.push(root);
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }');
  for (const [name, f] of Object.entries(folders)) {
    const dir = join(root, 'connectors', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'index.js'), f.index);
    if (f.manifest) writeFileSync(join(dir, 'manifest.js'), f.manifest);
  }
  return root;
}

describe('built-in manifests (load only what a config names)', () => {
  it('does not import a declared plugin until one of its ids is needed, yet lists its ids as known', async () => {
    // An index that throws at import shows whether it was imported: only need() may do so.
    const root = projectRoot({
      heavy: { index: `throw new Error('heavy driver imported');`, manifest: `export default { name: 'heavy', sources: ['heavy-db'] };` },
      light: { index: plugin('light', ['light-file']), manifest: `export default { name: 'light', sources: ['light-file'] };` },
    });
    const reg = new PluginRegistry();
    await declareBuiltIns(reg, root);
    await reg.need('source', 'light-file');
    expect(reg.broken).toEqual([]);
    expect(reg.plugins.map((p) => p.name)).toEqual(['light']);
    expect(reg.source('light-file').id).toBe('light-file');
    expect(() => reg.source('nope')).toThrow('unknown source connector "nope" (known: heavy-db, light-file)');
    expect(reg.broken).toEqual([]);
    await reg.need('source', 'heavy-db');
    expect(reg.broken).toEqual([{ file: join(root, 'connectors/heavy/index.js'), error: 'failed to load: heavy driver imported' }]);
    expect(() => reg.source('heavy-db')).toThrow(/unknown source connector "heavy-db" \(known: light-file\); plugins that failed to load: .*heavy driver imported/);
  });

  it('says a declared id was not loaded yet, rather than unknown, when code forgets need()', async () => {
    const root = projectRoot({ light: { index: plugin('light', ['light-file']), manifest: `export default { name: 'light', sources: ['light-file'] };` } });
    const reg = new PluginRegistry();
    await declareBuiltIns(reg, root);
    expect(() => reg.source('light-file')).toThrow(`source connector "light-file" (plugin light) is not loaded yet: call need('source', 'light-file') before using it`);
  });

  it('imports a folder without a manifest at start, as before', async () => {
    const root = projectRoot({ old: { index: plugin('old', ['old-src']) } });
    const reg = new PluginRegistry();
    await declareBuiltIns(reg, root);
    expect(reg.source('old-src').id).toBe('old-src');
  });

  it('refuses a plugin whose manifest does not match what it provides, naming both files', async () => {
    const root = projectRoot({
      liar: { index: plugin('liar', ['real-id']), manifest: `export default { name: 'liar', sources: ['claimed-id'] };` },
      extra: { index: plugin('extra', ['a', 'b']), manifest: `export default { name: 'extra', sources: ['a'] };` },
    });
    const reg = new PluginRegistry();
    await declareBuiltIns(reg, root);
    await reg.need('source', 'claimed-id');
    await reg.need('source', 'a');
    expect(reg.broken.map((b) => b.error)).toEqual([
      `its manifest (${join(root, 'connectors/liar/manifest.js')}) declares source "claimed-id" but the plugin does not provide it`,
      `it provides source "b" but its manifest (${join(root, 'connectors/extra/manifest.js')}) does not declare it, so no config could load it`,
    ]);
    expect(() => reg.source('real-id')).toThrow(/unknown source connector "real-id"/);
  });

  it('refuses another plugin that takes an id a built-in declares, though the built-in is not loaded', async () => {
    const root = projectRoot({
      builtin: { index: plugin('builtin', ['taken']), manifest: `export default { name: 'builtin', sources: ['taken'] };` },
    });
    const own = join(root, 'mine.js');
    writeFileSync(own, plugin('mine', ['taken']));
    const reg = new PluginRegistry();
    await declareBuiltIns(reg, root);
    await reg.loadFile(own);
    expect(reg.broken).toEqual([{ file: own, error: 'source connector "taken" is already provided by another plugin (builtin)' }]);
  });

  it('every shipped manifest declares exactly what its plugin provides', async () => {
    const { declared, eager } = await builtInPlugins(PROJECT_ROOT, (dir) => builtInPluginFiles().find((f) => f.startsWith(`${dir}/`)));
    expect(eager).toEqual([]);
    const reg = new PluginRegistry();
    for (const d of declared) reg.declare(d);
    for (const d of declared) await reg.loadFile(d.file);
    expect(reg.broken).toEqual([]);
    expect(reg.list().sources).toEqual(expect.arrayContaining(['csv', 'jsonl', 'xlsx', 'mysql', 'postgres', 'mongodb', 'sftp', 'ftp', 'http']));
  });

  it('names every id a config uses: source and destination connectors, transforms and the resolver', () => {
    const root = projectRoot({});
    const file = join(root, 'tributary.yaml');
    writeFileSync(
      file,
      `store: { sqlite: ':memory:' }
sources:
  - name: crm
    connector: csv
    streams:
      - name: people
        primaryKey: id
        config: { path: ./people.csv }
        mapping: { identifiers: { email: email } }
        transforms: [{ use: hash-email }]
destinations:
  - name: hook
    connector: webhook
    config: { url: 'https://example.test/hook' }
`,
    );
    expect(configNeeds(loadConfigFile(file))).toEqual([
      { kind: 'source', id: 'csv' },
      { kind: 'transform', id: 'hash-email' },
      { kind: 'destination', id: 'webhook' },
      { kind: 'resolver', id: 'deterministic' },
    ]);
  });
});
