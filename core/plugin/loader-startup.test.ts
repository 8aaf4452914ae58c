import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './loader.js';

// The built CLI in a child process, with a preload that lists every module it loads.
const CLI = join(PROJECT_ROOT, 'dist/core/cli/main.js');
const COUNTER = join(PROJECT_ROOT, 'core/plugin/__fixtures__/count-modules.mjs');
const DRIVERS = ['mysql2', 'pg', 'mongodb', 'ssh2', 'basic-ftp', 'exceljs'];

const dir = mkdtempSync(join(tmpdir(), 'trib-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'people.csv'), 'id,email\n1,ada@example.com\n2,bob@example.com\n');

function config(name: string, connector: string, streamConfig: string, sourceConfig = '{}'): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `store: { sqlite: ./${name}.db }
sources:
  - name: people
    connector: ${connector}
    config: ${sourceConfig}
    streams:
      - name: people
        primaryKey: id
        config: ${streamConfig}
        mapping: { identifiers: { email: email } }
`,
  );
  return file;
}

/** Run a CLI command; returns the node_modules packages it loaded and the built connector folders it imported. */
async function loadedBy(args: string[]): Promise<{ packages: Set<string>; connectors: Set<string> }> {
  const out = join(dir, `modules-${args[0]}-${Math.random().toString(36).slice(2)}.json`);
  await promisify(execFile)('node', ['--import', COUNTER, CLI, ...args], { cwd: dir, env: { ...process.env, TRIBUTARY_MODULE_LIST: out } });
  const cjs = (JSON.parse(readFileSync(out, 'utf8')) as { cjs: string[] }).cjs;
  const esm = readFileSync(`${out}.esm`, 'utf8').split('\n').filter(Boolean);
  const all = [...cjs, ...esm];
  const packages = new Set(all.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p): p is string => !!p));
  const connectors = new Set(all.map((f) => /dist\/connectors\/([^/]+)\/index\.js$/.exec(f)?.[1]).filter((p): p is string => !!p));
  return { packages, connectors };
}

describe('start-up loads only the connectors the config names (built CLI)', () => {
  const csv = config('csv-only', 'csv', '{ path: ./people.csv }');

  for (const command of [['status'], ['validate'], ['sync', 'people']]) {
    it(`\`${command.join(' ')}\` of a csv-only config imports no database or remote-file driver`, async () => {
      const { packages, connectors } = await loadedBy(['-c', csv, ...command]);
      expect(DRIVERS.filter((d) => packages.has(d))).toEqual([]);
      expect([...connectors]).toEqual(['file']);
    });
  }

  it('a config naming mysql does load mysql2 (the module list sees drivers)', async () => {
    const mysql = config('mysql', 'mysql', '{ table: people }', '{ host: 127.0.0.1, user: root, database: test }');
    const { packages, connectors } = await loadedBy(['-c', mysql, 'status']);
    expect(packages.has('mysql2')).toBe(true);
    expect(packages.has('mongodb')).toBe(false);
    expect([...connectors].sort()).toEqual(['mysql']);
  });
});
