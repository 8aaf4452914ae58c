import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './loader.js';

// PROJECT_ROOT is the source checkout under vitest; the package's exports point at its dist/.
const TSC = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** A project that depends on tributary (node_modules/tributary -> this checkout, as `npm link` makes it). */
function dependentProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trib-public-entry-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'uses-tributary', type: 'module', private: true, dependencies: { tributary: `file:${PROJECT_ROOT}` } }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(PROJECT_ROOT, join(dir, 'node_modules', 'tributary'), 'dir');
  return dir;
}

describe('tributary/plugin, the public contract entry', () => {
  it('resolves at run time from a package that depends on tributary, with the contract in it', () => {
    const dir = dependentProject();
    try {
      writeFileSync(join(dir, 'probe.mjs'), `
        import * as api from 'tributary/plugin';
        const p = api.definePlugin({ name: 'probe', version: '1.0.0', apiVersion: api.PLUGIN_API_VERSION });
        console.log(JSON.stringify({ name: p.name, major: api.PLUGIN_API_VERSION, supported: api.SUPPORTED_PLUGIN_API,
          errors: [new api.ConnectionError('x') instanceof api.TributaryError, typeof api.RecordError, typeof api.PluginError],
          ok2: api.isSupportedApiVersion(2) }));`);
      const r = spawnSync(process.execPath, ['probe.mjs'], { cwd: dir, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ name: 'probe', major: 1, supported: '1.0', errors: [true, 'function', 'function'], ok2: false });
      // Internals stay internal: only the declared subpaths are reachable.
      const deep = spawnSync(process.execPath, ['-e', `import('tributary/dist/core/container.js').then(() => console.log('reached'), (e) => console.log(e.code))`], { cwd: dir, encoding: 'utf8' });
      expect(deep.stdout.trim()).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('type-checks a plugin written against it: source, destination, resolver and transform interfaces all come from one import', () => {
    const dir = dependentProject();
    try {
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, include: ['*.ts'] }));
      const plugin = `
        import { definePlugin, PLUGIN_API_VERSION, RecordError, type SourceConnector, type DestinationConnector,
          type Resolver, type Transform, type CanonicalRecord } from 'tributary/plugin';
        const src: SourceConnector<{ n: number }> = {
          id: 'count', kind: 'source', spec: { config: { parse: (x: unknown) => x } as never },
          async check() { return { ok: true }; },
          async discover() { return []; },
          async *read() { yield { type: 'record', stream: 's', data: { id: 1 } }; },
        };
        const dst: DestinationConnector = { id: 'nowhere', kind: 'destination', delivery: 'incremental', spec: { config: {} as never },
          async check() { return { ok: true }; }, async write(_ctx, batch) { return batch.map(() => ({ status: 'ok' as const })); } };
        const t: Transform = { id: 'keep', apply: (r: CanonicalRecord) => { if (!r.recordId) throw new RecordError('no id'); return r; } };
        const res: Resolver | undefined = undefined;
        // The test kits are their own entry, with types.
        import type { SourceKitOptions, DestinationKitOptions } from 'tributary/plugin/kit';
        export type Kits = [SourceKitOptions<{ n: number }, unknown>, DestinationKitOptions<unknown>];
        export default definePlugin({ name: 'typed', version: '1.0.0', apiVersion: PLUGIN_API_VERSION, sources: [src], destinations: [dst], transforms: [t], resolvers: res ? [res] : [] });
      `;
      writeFileSync(join(dir, 'plugin.ts'), plugin);
      const ok = spawnSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8' });
      expect(ok.stdout + ok.stderr).toBe('');
      // And the types have teeth: a source without read() does not compile.
      writeFileSync(join(dir, 'plugin.ts'), plugin.replace("async *read() { yield { type: 'record', stream: 's', data: { id: 1 } }; },", ''));
      const bad = spawnSync(process.execPath, [TSC, '-p', dir], { encoding: 'utf8' });
      expect(bad.stdout).toMatch(/Property 'read' is missing/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
