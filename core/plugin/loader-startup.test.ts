import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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

interface Loaded {
  packages: Set<string>;
  connectors: Set<string>;
}

function loadedOf(files: string[]): Loaded {
  const packages = new Set(files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]).filter((p): p is string => !!p));
  const connectors = new Set(files.map((f) => /dist\/connectors\/([^/]+)\/index\.js$/.exec(f)?.[1]).filter((p): p is string => !!p));
  return { packages, connectors };
}

/**
 * Run a CLI command; returns the node_modules packages it loaded and the built connector folders it imported, over all
 * its threads, and what its worker threads (the SQLite store's commit thread) loaded, with how many there were.
 */
async function loadedBy(args: string[]): Promise<Loaded & { workers: Loaded & { count: number } }> {
  const out = join(dir, `modules-${args[0]}-${Math.random().toString(36).slice(2)}.json`);
  await promisify(execFile)('node', ['--import', COUNTER, CLI, ...args], { cwd: dir, env: { ...process.env, TRIBUTARY_MODULE_LIST: out } });
  const modulesIn = (list: string) => [
    ...(JSON.parse(readFileSync(list, 'utf8')) as { cjs: string[] }).cjs,
    ...readFileSync(`${list}.esm`, 'utf8').split('\n').filter(Boolean),
  ];
  // Each worker thread writes lists of its own, `<out>.thread-<n>` (count-modules.mjs).
  const workerLists = readdirSync(dir)
    .filter((f) => f.startsWith(`${basename(out)}.thread-`) && !f.endsWith('.esm'))
    .map((f) => join(dir, f));
  const inWorkers = workerLists.flatMap(modulesIn);
  return { ...loadedOf([...modulesIn(out), ...inWorkers]), workers: { ...loadedOf(inWorkers), count: workerLists.length } };
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

  it('the commit thread of a `sync` loads no connector and no driver; what it loads is counted', async () => {
    // A thread of the process inherits the preload: the counter sees it (a list of its own), and it must not need plugins.
    const threaded = config('csv-thread', 'csv', '{ path: ./people.csv }');
    writeFileSync(threaded, readFileSync(threaded, 'utf8').replace('./csv-thread.db }', './csv-thread.db, commitThread: true }'));
    const { workers } = await loadedBy(['-c', threaded, 'sync', 'people']);
    expect(workers.count).toBe(1);
    expect(workers.packages.has('better-sqlite3')).toBe(true);
    expect([...workers.connectors]).toEqual([]);
    expect(DRIVERS.filter((d) => workers.packages.has(d))).toEqual([]);
  });

  it('a config naming mysql does load mysql2 (the module list sees drivers)', async () => {
    const mysql = config('mysql', 'mysql', '{ table: people }', '{ host: 127.0.0.1, user: root, database: test }');
    const { packages, connectors } = await loadedBy(['-c', mysql, 'status']);
    expect(packages.has('mysql2')).toBe(true);
    expect(packages.has('mongodb')).toBe(false);
    expect([...connectors].sort()).toEqual(['mysql']);
  });
});
