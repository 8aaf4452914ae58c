import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';

// Issue 8, item 21: `resolve --rebuild` holds the store's write lock across
// processes for its whole run; a sync in another process waits for it (longer
// than SQLite's busy timeout) instead of failing or being overwritten.
// Runs the built CLI: `npm test` builds first (pretest); after editing, `npm run build`.

const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');
const PEOPLE = 2000;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `trib-rebuild-lock-${process.pid}-`));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, done, stderr: () => stderr };
}

describe('resolve --rebuild and a sync in another process', () => {
  it('the sync waits for the rebuild, then commits against the rebuilt graph: nothing overwritten, nothing dangling', { timeout: 120_000 }, async () => {
    const crm = ['id,email'];
    for (let i = 0; i < PEOPLE; i++) crm.push(`${i},p${i}@mail-box.net`);
    writeFileSync(join(dir, 'crm.csv'), `${crm.join('\n')}\n`);
    // The shop's buyers are half of the CRM's people and 100 new ones.
    const shop = ['order_id,email'];
    for (let i = 0; i < PEOPLE / 2; i++) shop.push(`o${i},p${i * 2}@mail-box.net`);
    for (let i = 0; i < 100; i++) shop.push(`n${i},new${i}@mail-box.net`);
    writeFileSync(join(dir, 'shop.csv'), `${shop.join('\n')}\n`);
    const db = join(dir, 'store.db');
    const file = join(dir, 'tributary.yaml');
    const source = (name: string, pk: string) => ({
      name,
      connector: 'csv',
      streams: [{ name: 'rows', primaryKey: pk, config: { path: join(dir, `${name}.csv`) }, mapping: { identifiers: { email: 'email' } } }],
    });
    writeFileSync(file, stringify({ store: { sqlite: db }, sources: [source('crm', 'id'), source('shop', 'order_id')] }));
    const first = spawnSync(process.execPath, [CLI, 'sync', 'crm', '--config', file], { encoding: 'utf8' });
    expect(first.status, first.stderr).toBe(0);

    // The pause (test-only) keeps the lock past SQLite's 10 s busy timeout.
    const rebuild = run(['--verbose', 'resolve', '--rebuild', '--config', file], { TRIBUTARY_TEST_REBUILD_PAUSE_MS: '12000' });
    const deadline = Date.now() + 60_000;
    while (!rebuild.stderr().includes("rebuild: holding the store's write lock") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    expect(rebuild.stderr()).toContain("rebuild: holding the store's write lock");
    const sync = run(['sync', 'shop', '--config', file, '--json']);
    const [r, s] = await Promise.all([rebuild.done, sync.done]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rebuilt 2000 records: 2000 profiles -> 2000/m);
    expect(s.code, s.stderr).toBe(0);
    expect(JSON.parse(s.stdout).runs[0].summary.streams.rows.written).toBe(PEOPLE / 2 + 100);

    const d = new Database(db, { readonly: true });
    try {
      const n = (sql: string) => Number(d.prepare(sql).pluck().get());
      expect(n('SELECT COUNT(*) FROM records')).toBe(PEOPLE + PEOPLE / 2 + 100);
      expect(n('SELECT COUNT(*) FROM records WHERE profile_id NOT IN (SELECT id FROM profiles)')).toBe(0);
      expect(n('SELECT COUNT(*) FROM identifiers WHERE profile_id NOT IN (SELECT id FROM profiles)')).toBe(0);
      // Each buyer joined the CRM person with the same email: the sync resolved against the rebuilt graph.
      expect(n('SELECT COUNT(*) FROM profiles')).toBe(PEOPLE + 100);
      // `$.i[0][1]`: the value of a record's first identifier in the stored body (core/store/record-codec.ts).
      expect(
        n(`SELECT COUNT(*) FROM records s JOIN records c ON c.source = 'crm' AND json_extract(c.body, '$.i[0][1]') = json_extract(s.body, '$.i[0][1]')
           WHERE s.source = 'shop' AND s.profile_id = c.profile_id`),
      ).toBe(PEOPLE / 2);
    } finally {
      d.close();
    }
  });
});
