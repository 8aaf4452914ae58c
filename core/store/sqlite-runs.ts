import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import { ConnectionError } from '../errors.js';
import type { AbandonedRunPolicy, FinishedStatus, RunRecord, RunSummary } from './types.js';
import { abandonedBecause, runOfRow } from './row-shapes.js';

type Row = Record<string, unknown>;

/** Default wait for another process's write lock: a rebuild of a large store takes minutes. */
export const LOCK_WAIT_MS = 30 * 60_000;
/** SQLite's own wait on a lock, for statements outside `whenUnlocked`. */
export const BUSY_TIMEOUT_MS = 10_000;
/** SQLite's wait within one try of `whenUnlocked`. */
const BUSY_TRY_MS = 200;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Run one write (a whole transaction, or BEGIN IMMEDIATE). While another
 * process holds the write lock it is tried again, sleeping in between so the
 * event loop (signals, heartbeats) keeps running, for up to `lock.waitMs`.
 */
export async function whenUnlocked<T>(db: Database.Database, lock: { file: string; waitMs: number }, write: () => T): Promise<T> {
  const deadline = Date.now() + lock.waitMs;
  for (let pause = 25; ; pause = Math.min(pause * 2, 500)) {
    // Each try waits a little inside SQLite (blocking), then the loop waits outside it (not blocking).
    db.pragma(`busy_timeout = ${BUSY_TRY_MS}`);
    try {
      return write();
    } catch (err) {
      if (!isBusy(err) || db.inTransaction) throw err;
      if (Date.now() >= deadline) {
        throw new ConnectionError(
          `the store ${lock.file} has been locked by another process for ${Math.round(lock.waitMs / 1000)} s (a \`resolve --rebuild\`, or a stuck process)`,
          {},
          { cause: err, retryable: false },
        );
      }
    } finally {
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}

/**
 * The `runs` table: who runs what (pid, host), a heartbeat and the live counts
 * while running, and how each run ended. Every write goes through `write`, which
 * waits for another process's write lock.
 */
export class SqliteRuns {
  constructor(
    private readonly db: Database.Database,
    private readonly write: <T>(fn: () => T) => Promise<T>,
  ) {}

  async start(name: string, kind: RunRecord['kind']): Promise<number> {
    const now = new Date().toISOString();
    const insert = this.db.prepare('INSERT INTO runs(name, kind, started_at, status, pid, host, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const r = await this.write(() => insert.run(name, kind, now, 'running', process.pid, hostname(), now));
    return Number(r.lastInsertRowid);
  }

  async update(id: number, summary?: RunSummary): Promise<void> {
    const now = new Date().toISOString();
    await this.write(() => {
      if (summary) this.db.prepare("UPDATE runs SET summary = ?, heartbeat_at = ? WHERE id = ? AND status = 'running'").run(JSON.stringify(summary), now, id);
      else this.db.prepare("UPDATE runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'").run(now, id);
    });
  }

  async finish(id: number, status: FinishedStatus, summary: RunSummary | undefined, error?: string): Promise<void> {
    // Without a final summary the live counts stay: a failed run still committed what it committed.
    const update = this.db.prepare('UPDATE runs SET finished_at = ?, status = ?, summary = COALESCE(?, summary), error = ? WHERE id = ?');
    await this.write(() => update.run(new Date().toISOString(), status, summary ? JSON.stringify(summary) : null, error ?? null, id));
  }

  async interruptAbandoned(opts: AbandonedRunPolicy): Promise<RunRecord[]> {
    const now = opts.now ?? new Date();
    const why = abandonedBecause(opts, now);
    const running = this.db.prepare("SELECT * FROM runs WHERE status = 'running' ORDER BY id");
    // Called before every run (each tick of the daemon): take the write lock only when there is something to mark.
    if (!(running.all() as Row[]).some((r) => why(r) !== undefined)) return [];
    const mark = this.db.prepare("UPDATE runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ? AND status = 'running'");
    return this.write(() =>
      this.db
        .transaction(() => {
          const gone: RunRecord[] = [];
          for (const row of running.all() as Row[]) {
            const reason = why(row);
            if (!reason) continue;
            const error = `interrupted: ${reason}; the next run resumes from the last committed checkpoint`;
            mark.run(now.toISOString(), error, row.id);
            gone.push({ ...runOfRow(row), status: 'interrupted', finishedAt: now.toISOString(), error });
          }
          return gone;
        })
        .immediate(),
    );
  }

  async recent(limit: number): Promise<RunRecord[]> {
    const rows = this.db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(limit) as Row[];
    return rows.map(runOfRow);
  }
}

