import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../plugin/loader.js';

const CLI = join(PROJECT_ROOT, 'dist', 'core', 'cli', 'main.js');
const ENTRY = pathToFileURL(join(PROJECT_ROOT, 'dist', 'core', 'plugin', 'index.js')).href;
const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, env: { ...process.env, TRIBUTARY_CONFIG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A user's project with a plugin of their own, named in YAML by path. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trib-schema-cli-'));
  made.push(dir);
  writeFileSync(join(dir, 'acme.mjs'), `
    import { definePlugin, PLUGIN_API_VERSION, z } from '${ENTRY}';
    export default definePlugin({ name: 'acme', version: '1.0.0', apiVersion: PLUGIN_API_VERSION, sources: [{
      id: 'acme-crm', kind: 'source',
      spec: { config: z.object({ tenant: z.string().describe('Your Acme tenant id.') }), stream: z.object({ objectType: z.enum(['lead', 'contact']) }) },
      async check() { return { ok: true }; }, async discover() { return []; }, async *read() {},
    }] });`);
  writeFileSync(join(dir, 'broken.mjs'), `throw new Error('cannot start');`);
  // Half-written on purpose (no streams): the schema is what helps finish it.
  writeFileSync(join(dir, 'tributary.yaml'), 'plugins:\n  - ./acme.mjs\nsources:\n  - name: crm\n    connector: acme-crm\n');
  return dir;
}

describe('tributary schema', () => {
  it("--out FILE writes the schema with the config's plugins' options beside the built-ins", () => {
    const dir = project();
    const r = cli(['schema', '--config', 'tributary.yaml', '--out', 'tributary.schema.json'], dir);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^wrote tributary.schema.json \(\d+ connectors/);
    const s = JSON.parse(readFileSync(join(dir, 'tributary.schema.json'), 'utf8'));
    const items = s.properties.sources.items;
    const acme = items.allOf.find((a: any) => a.if.properties.connector.const === 'acme-crm').then;
    expect(acme.properties.config.properties.tenant.description).toBe('Your Acme tenant id.');
    expect(acme.properties.streams.items.properties.config.properties.objectType.enum).toEqual(['lead', 'contact']);
    expect(items.properties.connector.examples).toEqual(expect.arrayContaining(['acme-crm', 'csv', 'postgres']));
  });

  it('a plugin that fails to load is named on stderr and left out; the schema is still written', () => {
    const dir = project();
    const r = cli(['schema', '--config', 'tributary.yaml', '--plugin', './broken.mjs', './missing.mjs', '--out', 'out.json'], dir);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/warn: plugin not in the schema: \.\/missing\.mjs: plugin file not found/);
    expect(r.err).toMatch(/warn: plugin not in the schema: .*broken\.mjs: failed to load: cannot start/);
    const s = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
    expect(s.properties.sources.items.properties.connector.examples).toContain('acme-crm');
  });
});
