import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { PROJECT_ROOT, builtInPluginFiles } from '../../core/plugin/loader.js';

// The example third-party plugin, used the two ways a user would: packed with
// `npm pack` and installed from the tarball into a project of its own (tributary
// installed there from this checkout, as a file: dependency), then named in YAML
// by package name; and copied into a project and named by path. Both run a real
// sync through the built CLI (dist/, rebuilt by test/global-setup.ts).

const PLUGIN_DIR = dirname(fileURLToPath(import.meta.url));
const made: string[] = [];
let work: string;
let tarball: string;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, TRIBUTARY_CONFIG: '', npm_config_update_notifier: 'false' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const CARDS = [
  'BEGIN:VCARD', 'VERSION:4.0', 'UID:1', 'FN:Ann Lee', 'N:Lee;Ann;;;', 'EMAIL:ann@home.example', 'TEL:+33145678901', 'END:VCARD',
  'BEGIN:VCARD', 'VERSION:4.0', 'FN:No Uid', 'END:VCARD',
  'BEGIN:VCARD', 'VERSION:3.0', 'UID:2', 'FN:Bob Roe', 'N:Roe;Bob;;;', 'ORG:Acme', 'EMAIL:bob@x.example', 'END:VCARD', '',
].join('\r\n');

/** A project folder with its own package.json, the contacts file and a config naming the plugin by `spec`. */
function project(spec: string): string {
  const dir = mkdtempSync(join(work, 'project-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-cdp', private: true, type: 'module', dependencies: { tributary: `file:${PROJECT_ROOT}` } }, null, 2));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'people.vcf'), CARDS);
  writeFileSync(join(dir, 'tributary.yaml'), stringify({
    plugins: [spec],
    store: { sqlite: './tributary.db' },
    sources: [{
      name: 'phonebook', connector: 'vcard', config: { dir: './data' },
      streams: [{ name: 'contacts', mode: 'full_refresh', primaryKey: 'uid', config: { file: 'people.vcf' },
        mapping: { identifiers: { email: 'email', phone: 'phone' }, traits: { firstName: 'givenName', lastName: 'familyName', company: 'org' } } }],
    }],
  }));
  return dir;
}

function syncAndCheck(dir: string, cli: string) {
  const s = run(process.execPath, [cli, 'sync', '--config', 'tributary.yaml', '--json', '--no-deliver'], dir);
  expect(s.code, s.err + s.out).toBe(0);
  expect(s.err).not.toMatch(/plugin refused/);
  const report = JSON.parse(s.out);
  expect(report.runs[0].summary.streams.contacts).toMatchObject({ read: 3, written: 2, deadLettered: 1 });
  const p = run(process.execPath, [cli, 'profiles', 'get', 'bob@x.example', '--config', 'tributary.yaml'], dir);
  expect(p.code, p.err).toBe(0);
  expect(JSON.parse(p.out).traits).toMatchObject({ firstName: 'Bob', lastName: 'Roe', company: 'Acme' });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), `trib-vcard-plugin-${process.pid}-`));
  made.push(work);
  const packed = run('npm', ['pack', '--json', '--pack-destination', work], PLUGIN_DIR);
  expect(packed.code, packed.err).toBe(0);
  const [info] = JSON.parse(packed.out) as Array<{ filename: string; files: Array<{ path: string }> }>;
  // Only what a user installs: no tests in the tarball.
  expect(info.files.map((f) => f.path).sort()).toEqual(['README.md', 'index.js', 'package.json']);
  tarball = join(work, info.filename);
});
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

describe('example third-party plugin (plugins/example-vcard)', () => {
  it('is not loaded as a built-in: it has its own package.json depending on tributary', () => {
    expect(builtInPluginFiles().some((f) => f.startsWith(PLUGIN_DIR))).toBe(false);
  });

  it('packed and installed from its tarball into a project of its own, runs a sync by package name', () => {
    const dir = project('tributary-plugin-vcard');
    const inst = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], dir);
    expect(inst.code, inst.err).toBe(0);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['tributary', 'tributary-plugin-vcard']);
    // The project's own tributary bin, as `npx tributary` would run it.
    syncAndCheck(dir, join(dir, 'node_modules', 'tributary', 'dist', 'core', 'cli', 'main.js'));
  });

  it('copied into a project, passes its own tests there and runs a sync loaded by path', () => {
    const dir = project('./plugins/vcard');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(PROJECT_ROOT, join(dir, 'node_modules', 'tributary'), 'dir');
    cpSync(PLUGIN_DIR, join(dir, 'plugins', 'vcard'), { recursive: true, filter: (src) => !src.endsWith('.integration.test.ts') });
    const own = run('npm', ['test'], join(dir, 'plugins', 'vcard'));
    expect(own.code, own.out + own.err).toBe(0);
    expect(own.out).toMatch(/# pass 4\n# fail 0/);
    syncAndCheck(dir, join(PROJECT_ROOT, 'dist', 'core', 'cli', 'main.js'));
  });

  it('a second plugin claiming the same connector id is refused by name and the first keeps syncing', () => {
    const dir = project('./plugins/vcard');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(PROJECT_ROOT, join(dir, 'node_modules', 'tributary'), 'dir');
    cpSync(join(PLUGIN_DIR, 'index.js'), join(dir, 'plugins', 'vcard', 'index.js'));
    cpSync(join(PLUGIN_DIR, 'index.js'), join(dir, 'plugins', 'copy', 'index.js'));
    const yaml = readFileSync(join(dir, 'tributary.yaml'), 'utf8').replace('  - ./plugins/vcard', '  - ./plugins/vcard\n  - ./plugins/copy');
    writeFileSync(join(dir, 'tributary.yaml'), yaml);
    const s = run(process.execPath, [join(PROJECT_ROOT, 'dist', 'core', 'cli', 'main.js'), 'sync', '--config', 'tributary.yaml', '--json', '--no-deliver'], dir);
    expect(s.code, s.err).toBe(0);
    expect(JSON.parse(s.out).ok).toBe(true);
    expect(s.err).toMatch(/plugin refused: .*plugins\/copy\/index\.js: source connector "vcard" is already provided by another plugin/);
  });
});
