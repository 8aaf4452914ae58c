import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// A child process opens the store, because the parent must let go of its lock while the open
// waits, and the open is synchronous. The child runs the built module (npm test builds first).
const OPEN = join(process.cwd(), 'dist/core/store/sqlite-open.js');

function openInChild(file: string, busyMs: number): Promise<{ mode?: string; error?: string; retryable?: boolean }> {
  const script = `
    import { openSqlite } from ${JSON.stringify(OPEN)};
    try {
      const db = openSqlite(${JSON.stringify(file)}, 8, ${busyMs});
      process.stdout.write(JSON.stringify({ mode: db.pragma('journal_mode', { simple: true }) }));
    } catch (e) {
      process.stdout.write(JSON.stringify({ error: e.message, retryable: e.retryable }));
    }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', () => resolve(JSON.parse(out || '{}')));
  });
}

/** What a first process creating a fresh store looks like to a second: a rollback-mode file with a write transaction open. */
function writerHolding(file: string): Database.Database {
  const db = new Database(file);
  db.exec('CREATE TABLE t(x)');
  db.exec('BEGIN IMMEDIATE');
  db.prepare('INSERT INTO t VALUES (1)').run();
  return db;
}

describe('openSqlite while another connection writes the fresh file', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('waits for the other writer and then switches to WAL (SQLite answers BUSY at once there, without its busy handler)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'trib-open-'));
    const file = join(dir, 'store.db');
    const holder = writerHolding(file);
    const opened = openInChild(file, 10_000);
    // Long enough for the child to start and meet the lock (node starts in ~50-100 ms).
    await new Promise((r) => setTimeout(r, 700));
    holder.exec('COMMIT');
    const r = await opened;
    holder.close();
    expect(r).toEqual({ mode: 'wal' });
  });

  it('gives up after the busy timeout with a retryable error that names the file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'trib-open-'));
    const file = join(dir, 'store.db');
    const holder = writerHolding(file);
    const r = await openInChild(file, 300);
    holder.exec('ROLLBACK');
    holder.close();
    expect(r.retryable).toBe(true);
    expect(r.error).toBe(`cannot open SQLite store ${file}: another process kept it locked for 0.3 s while it was being switched to WAL`);
  });
});

describe('the WAL of a store', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('holds more than 64 MiB before an automatic checkpoint copies it back', async () => {
    const { openSqlite } = await import('./sqlite-open.js');
    dir = mkdtempSync(join(tmpdir(), 'trib-wal-'));
    const file = join(dir, 'store.db');
    const db = openSqlite(file, 8);
    try {
      const walMb = () => statSync(`${file}-wal`).size / 1024 / 1024;
      db.exec('CREATE TABLE t (b BLOB)');
      const insert = db.prepare('INSERT INTO t VALUES (zeroblob(65536))');
      // 75 MiB in one transaction: with the old 64 MiB bound this would have been checkpointed on commit.
      db.transaction(() => {
        for (let i = 0; i < 1200; i++) insert.run();
      })();
      expect(walMb()).toBeGreaterThan(70);
      // Not yet copied back into the store file: that is the point of the larger bound.
      expect(statSync(file).size / 1024 / 1024).toBeLessThan(1);
      db.pragma('wal_checkpoint(PASSIVE)');
      expect(statSync(file).size / 1024 / 1024).toBeGreaterThan(70);
    } finally {
      db.close();
    }
  });
});
