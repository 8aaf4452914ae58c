import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';

const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');

function count(db: string, sql: string): number {
  try {
    const d = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return Number(d.prepare(sql).pluck().get());
    } finally {
      d.close();
    }
  } catch {
    return 0;
  }
}

describe('tributary run (the daemon)', () => {
  it('runs syncs on their schedule; SIGTERM finishes the current batch, commits and exits 0', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-daemon-'));
    const rows = 40_000;
    const lines = ['id,email,updated_at'];
    for (let i = 0; i < rows; i++) lines.push(`${i},p${i}@mail-box.net,2026-01-01`);
    writeFileSync(join(dir, 'people.csv'), `${lines.join('\n')}\n`);
    const file = join(dir, 'tributary.yaml');
    const db = join(dir, 'store.db');
    writeFileSync(
      file,
      stringify({
        store: { sqlite: db },
        sources: [
          {
            name: 'crm',
            connector: 'csv',
            schedule: '* * * * * *',
            batchSize: 500,
            config: { checkpointEvery: 500 },
            streams: [{ name: 'people', primaryKey: 'id', config: { path: join(dir, 'people.csv') }, mapping: { identifiers: { email: 'email' } } }],
          },
        ],
      }),
    );
    const child = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 45_000;
    while (count(db, 'SELECT COUNT(*) FROM records') === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const before = count(db, 'SELECT COUNT(*) FROM records');
    expect(before).toBeGreaterThan(0);
    child.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(0);
    expect(stderr).toContain('SIGTERM: finishing the current batch, then stopping');
    expect(stderr).toContain('scheduled sync crm');
    const committed = count(db, 'SELECT COUNT(*) FROM records');
    // It stopped early, and what it committed is whole: the next run reads exactly the rest.
    expect(committed).toBeLessThan(rows);
    const r = spawnSync(process.execPath, [CLI, 'sync', '--config', file, '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(count(db, 'SELECT COUNT(*) FROM records')).toBe(rows);
    expect(count(db, 'SELECT COUNT(*) FROM profiles')).toBe(rows);
  });
});
