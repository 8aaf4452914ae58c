import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConnectionError } from '../errors.js';
import { BUSY_TIMEOUT_MS } from './sqlite-runs.js';

/**
 * WAL pages (4 KiB each) before SQLite checkpoints on its own: 256 MiB. An order stream rewrites
 * profiles on random pages; the more batches one checkpoint covers, the more of those pages it
 * copies back once instead of several times. At 1M records the commit thread spent 50.6-56.2 µs per
 * order against 61.0-64.9 with 64 MiB (docs/benchmarks/pipeline-threads.md, "Each source's thread time, and the WAL bound").
 */
const WAL_AUTOCHECKPOINT_PAGES = 65_536;

/**
 * SQLite's page cache per connection, in MB. Measured on the 1M pipeline (docs/benchmarks/pipeline-commit-thread.md,
 * "Page cache"): 256 MB per connection bought no speed over 64 (the OS caches the file as well)
 * and cost ~190 MB of RSS per connection; the commit thread's connection only writes what the
 * main one has just read, so it keeps less.
 */
export const CACHE_MB = 64;
export const COMMIT_THREAD_CACHE_MB = 32;

/** A connection to the store's file with the pragmas every connection of the store runs with (before migration). */
export function openSqlite(file: string, cacheMb: number, busyTimeoutMs = BUSY_TIMEOUT_MS): Database.Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (err) {
    throw new ConnectionError(`cannot open SQLite store ${file}: ${(err as Error).message}`, {}, { retryable: false });
  }
  db.pragma(`busy_timeout = ${busyTimeoutMs}`);
  switchToWal(db, file, busyTimeoutMs);
  // NORMAL with WAL keeps every committed transaction across a process crash;
  // only an OS crash or power loss can lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${Math.round(cacheMb * 1024)}`);
  // A 5,000-record batch dirties more than the default 1,000 WAL pages, so nearly every
  // commit also checkpointed (copy back + fsync). A larger bound lets a page written by
  // many batches be copied back once. While the store is open its WAL file keeps the size it
  // reached (up to about 256 MiB); the last connection to close checkpoints and removes it.
  // `journal_size_limit` (cutting the file back after each checkpoint) was measured and not set:
  // re-growing the file every cycle took the whole gain away (61.4 against 52.2 µs per order).
  db.pragma(`wal_autocheckpoint = ${Number(process.env.TRIB_WAL_PAGES ?? WAL_AUTOCHECKPOINT_PAGES)}`);
  // A forgotten person's rows are overwritten with zeros, not left readable in free pages (issue 12).
  db.pragma('secure_delete = ON');
  return db;
}

/**
 * `journal_mode = WAL` on a file another connection is writing in rollback mode (a second
 * process opening a fresh store while the first creates its schema) upgrades a read lock to
 * a write lock, where SQLite returns SQLITE_BUSY at once instead of calling the busy
 * handler: two workers started together failed with "database is locked". The switch is
 * retried with a growing sleep for as long as the busy timeout would have waited.
 */
function switchToWal(db: Database.Database, file: string, busyTimeoutMs: number): void {
  const until = Date.now() + busyTimeoutMs;
  for (let waitMs = 5; ; waitMs = Math.min(waitMs * 2, 200)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw err;
      if (Date.now() >= until) {
        db.close();
        throw new ConnectionError(`cannot open SQLite store ${file}: another process kept it locked for ${busyTimeoutMs / 1000} s while it was being switched to WAL`, {}, { retryable: true });
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, waitMs);
  }
}
