import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConnectionError } from '../errors.js';
import type { InboxAppendResult, InboxEvent, InboxReader, InboxRow } from '../serve/contract.js';

type Row = Record<string, unknown>;

/**
 * The inbox of pushed events. AUTOINCREMENT matters: drained rows are deleted,
 * and a plain rowid could hand a deleted (already checkpointed) seq out again.
 * De-duplication keys live in their own table so a retried message is still
 * recognised after its first copy was drained; they are pruned after `dedupDays`.
 */
export const INBOX_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  stream TEXT NOT NULL,
  dedup_key TEXT,
  received_at TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_source_seq ON inbox(source, seq);
CREATE TABLE IF NOT EXISTS inbox_dedup (
  source TEXT NOT NULL,
  dedup_key TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (source, dedup_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS inbox_dedup_at ON inbox_dedup(at);
`;

/** Inbox state a sink checkpoints: `{ inboxSeq: n }` in the stream's state (see contract.ts). */
export function inboxSeqOf(state: unknown): number | undefined {
  const v = (state as { inboxSeq?: unknown } | undefined)?.inboxSeq;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * The read side on the store's own connection: what sources drain, and the
 * clean-up the engine runs once a batch (and its checkpoint) is committed.
 */
export class SqliteInboxReader implements InboxReader {
  constructor(
    private readonly db: Database.Database,
    private readonly write: <T>(fn: () => T) => Promise<T>,
  ) {}

  async read(source: string, opts: { afterSeq: number; limit: number; stream?: string }): Promise<InboxRow[]> {
    const rows = (
      opts.stream === undefined
        ? this.db.prepare('SELECT * FROM inbox WHERE source = ? AND seq > ? ORDER BY seq LIMIT ?').all(source, opts.afterSeq, opts.limit)
        : this.db.prepare('SELECT * FROM inbox WHERE source = ? AND stream = ? AND seq > ? ORDER BY seq LIMIT ?').all(source, opts.stream, opts.afterSeq, opts.limit)
    ) as Row[];
    return rows.map(toInboxRow);
  }

  /** Delete the rows of a source's stream up to a committed checkpoint, keeping the inbox bounded. */
  async release(source: string, stream: string, uptoSeq: number): Promise<number> {
    const del = this.db.prepare('DELETE FROM inbox WHERE source = ? AND stream = ? AND seq <= ?');
    return (await this.write(() => del.run(source, stream, uptoSeq))).changes;
  }
}

function toInboxRow(r: Row): InboxRow {
  return {
    seq: Number(r.seq),
    source: r.source as string,
    stream: r.stream as string,
    dedupKey: (r.dedup_key as string | null) ?? undefined,
    receivedAt: r.received_at as string,
    body: JSON.parse(r.body as string) as Record<string, unknown>,
  };
}

/** One group's events as [source, stream, dedupKey or null, receivedAt, body JSON] repeated. */
export type FlatEvents = (string | null)[];
export const FLAT_FIELDS = 5;

/** Lay a group's events out flat; the body is serialized here unless the handler already did. */
export function flatEvents(events: InboxEvent[]): FlatEvents {
  const out: FlatEvents = new Array(events.length * FLAT_FIELDS);
  let i = 0;
  for (const e of events) {
    out[i++] = e.source;
    out[i++] = e.stream;
    out[i++] = e.dedupKey ?? null;
    out[i++] = e.receivedAt;
    out[i++] = e.bodyJson ?? JSON.stringify(e.body);
  }
  return out;
}

export interface InboxWriteOptions {
  /** How long de-duplication keys are remembered. */
  dedupDays?: number;
  /** Give up on the write lock after this long (the store is held by a long rebuild): the requests get 503. */
  lockWaitMs?: number;
  /** `fsync` (default): synchronous = FULL, each commit on disk. `process`: synchronous = NORMAL, as the store. */
  durability?: 'fsync' | 'process';
}

/**
 * The write side, for `serve`: its own connection (so a request never joins a
 * sync's open transaction), `synchronous = FULL` so a commit is on disk
 * before any reply (or NORMAL with `durability: process`), and a lock wait that never blocks the event loop
 * (busy_timeout 0, retried on a timer): a sync in the same process holds
 * BEGIN IMMEDIATE across awaits, and a blocking wait there would deadlock.
 */
export class SqliteInboxWriter {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly dedup: Database.Statement;
  private readonly dedupDays: number;
  private readonly lockWaitMs: number;
  private lastPrune = 0;

  constructor(
    readonly file: string,
    opts: InboxWriteOptions = {},
  ) {
    this.dedupDays = opts.dedupDays ?? 7;
    this.lockWaitMs = opts.lockWaitMs ?? 10_000;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    try {
      this.db = new Database(file);
    } catch (err) {
      throw new ConnectionError(`cannot open SQLite store ${file}: ${(err as Error).message}`, {}, { retryable: false });
    }
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(opts.durability === 'process' ? 'synchronous = NORMAL' : 'synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    // 64 MB of page cache (SQLite's default is 2 MB): a group commit of thousands of events with
    // random messageIds (UUIDs) touches that many leaf pages of the de-duplication index.
    this.db.pragma('cache_size = -65536');
    this.db.exec(INBOX_SCHEMA_SQL);
    this.db.pragma('busy_timeout = 0');
    this.insert = this.db.prepare('INSERT INTO inbox(source, stream, dedup_key, received_at, body) VALUES (?, ?, ?, ?, ?)');
    this.dedup = this.db.prepare('INSERT OR IGNORE INTO inbox_dedup(source, dedup_key, at) VALUES (?, ?, ?)');
  }

  /**
   * Append many requests' events in ONE transaction (group commit). Returns one
   * result per group, in order. The de-duplication keys are written in the same
   * transaction as the rows: a failed commit leaves no key behind, so the
   * client's retry is stored (rudder-server's #709 pitfall).
   */
  async appendGroups(groups: InboxEvent[][]): Promise<InboxAppendResult[]> {
    return this.appendFlat(groups.map(flatEvents));
  }

  /**
   * appendGroups on events laid out flat (see flatEvents): what the writer thread
   * receives, an array of strings being far cheaper to pass between threads
   * than objects.
   */
  async appendFlat(groups: FlatEvents[]): Promise<InboxAppendResult[]> {
    const now = new Date();
    const tx = this.db.transaction(() =>
      groups.map((g) => {
        let accepted = 0;
        let duplicates = 0;
        for (let i = 0; i < g.length; i += FLAT_FIELDS) {
          const source = g[i];
          const dedupKey = g[i + 2];
          if (dedupKey !== null && this.dedup.run(source, dedupKey, g[i + 3]).changes === 0) {
            duplicates++;
            continue;
          }
          this.insert.run(source, g[i + 1], dedupKey, g[i + 3], g[i + 4]);
          accepted++;
        }
        return { accepted, duplicates };
      }),
    );
    const results = await this.retryWhileBusy(() => tx.immediate());
    if (now.getTime() - this.lastPrune > 60_000) {
      this.lastPrune = now.getTime();
      const cutoff = new Date(now.getTime() - this.dedupDays * 86_400_000).toISOString();
      await this.retryWhileBusy(() => this.db.prepare('DELETE FROM inbox_dedup WHERE at < ?').run(cutoff)).catch(() => undefined);
    }
    return results;
  }

  /** Rows not yet drained, over every source. */
  backlog(): number {
    return Number(this.db.prepare('SELECT COUNT(*) FROM inbox').pluck().get());
  }

  /** Seconds since the oldest undrained event was received (0 when empty). */
  drainLagSeconds(now = Date.now()): number {
    const oldest = this.db.prepare('SELECT received_at FROM inbox ORDER BY seq LIMIT 1').pluck().get() as string | undefined;
    return oldest ? Math.max(0, (now - Date.parse(oldest)) / 1000) : 0;
  }

  /** Is the store file readable (for /readyz)? */
  ping(): boolean {
    return this.db.prepare('SELECT 1').pluck().get() === 1;
  }

  private async retryWhileBusy<T>(fn: () => T): Promise<T> {
    const deadline = Date.now() + this.lockWaitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, 20)) {
      try {
        return fn();
      } catch (err) {
        if (!isBusy(err) || this.db.inTransaction) throw err;
        if (Date.now() >= deadline) {
          throw new ConnectionError(`the store ${this.file} stayed locked for ${this.lockWaitMs} ms; events not accepted`, {}, { cause: err });
        }
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
