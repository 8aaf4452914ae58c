import type { InboxAppendResult, InboxEvent, InboxReader, InboxRow } from '../../serve/contract.js';
import { FLAT_FIELDS, flatEvents, type FlatEvents, type InboxWriteOptions } from '../sqlite-inbox.js';
import { PgConn, type PgStoreOptions } from './pg-conn.js';
import { LOCK_MIGRATE } from './pg-schema.js';

type Row = Record<string, unknown>;

/**
 * The inbox of pushed events on PostgreSQL (same tables as core/store/sqlite-inbox.ts).
 * Identity seqs are never handed out again, also after the rows holding the
 * highest ones were drained; de-duplication keys live in their own table so a
 * retried message is still recognised after its first copy was drained.
 */
export const INBOX_PG_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS inbox (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
);
CREATE INDEX IF NOT EXISTS inbox_dedup_at ON inbox_dedup(at);
`;

/**
 * Appends of every serve process take this transaction-scoped advisory lock
 * before their rows get seqs, so seqs are committed in the order they are
 * handed out. Without it, a transaction holding seq 10 could commit after one
 * holding seq 11: a drain that read 11 checkpoints `{ inboxSeq: 11 }`, never
 * reads 10, and its release deletes it. SQLite has one writer at a time anyway.
 */
export const LOCK_INBOX = 'tributary:inbox';
/**
 * Taking it: the key names the store's schema, as the resolve lock's does, so stores in other
 * schemas of one database (another deployment, another test run) never wait for each other's appends.
 */
// COALESCE: current_schema() is NULL while the schema does not exist, and the lock function given NULL locks nothing.
export const INBOX_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended($1 || COALESCE(current_schema(), ''), 0))";

/** The read side on the store's connection: what sources drain, and the engine's clean-up after a committed checkpoint. */
export class PgInboxReader implements InboxReader {
  constructor(private readonly conn: PgConn) {}

  async read(source: string, opts: { afterSeq: number; limit: number; stream?: string }): Promise<InboxRow[]> {
    const rows =
      opts.stream === undefined
        ? await this.conn.q('SELECT * FROM inbox WHERE source = $1 AND seq > $2 ORDER BY seq LIMIT $3', [source, opts.afterSeq, opts.limit])
        : await this.conn.q('SELECT * FROM inbox WHERE source = $1 AND stream = $2 AND seq > $3 ORDER BY seq LIMIT $4', [source, opts.stream, opts.afterSeq, opts.limit]);
    return rows.map(toInboxRow);
  }

  /** Delete the rows of a source's stream up to a committed checkpoint, keeping the inbox bounded. */
  async release(source: string, stream: string, uptoSeq: number): Promise<number> {
    const rows = await this.conn.q('DELETE FROM inbox WHERE source = $1 AND stream = $2 AND seq <= $3 RETURNING seq', [source, stream, uptoSeq]);
    return rows.length;
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

/** Create the inbox tables if missing (serve may start before any sync has opened the store). */
export async function ensureInboxTables(conn: PgConn): Promise<void> {
  if (conn.schema) {
    await conn.tx(async () => {
      await conn.q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [LOCK_MIGRATE]);
      await conn.q(`CREATE SCHEMA IF NOT EXISTS ${conn.schema}`);
    });
  }
  await conn.tx(async () => {
    await conn.q('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [LOCK_MIGRATE]);
    await conn.q(INBOX_PG_SCHEMA_SQL);
  });
}

/** How often the probes (backlog, lag, ping) are measured again; the server asks synchronously and gets the last figures. */
const PROBE_REFRESH_MS = 250;

/**
 * The write side for `tributary serve` on a PostgreSQL store: a pool of its
 * own (a request never joins a sync's transaction), group commit (many
 * requests' events in one transaction, de-duplication keys written in the
 * same transaction as the rows, so a failed commit leaves no key behind and the
 * client's retry is stored). The server's probes are synchronous: they answer
 * the figures of the last measurement, refreshed in the background, and
 * `ping()` is false until the first one succeeded.
 * `durability: process` commits with synchronous_commit off (a server crash may
 * lose the last commits, as SQLite's NORMAL may on power loss).
 */
export class PgInboxWriter {
  readonly conn: PgConn;
  private readonly dedupDays: number;
  private readonly lockWaitMs: number;
  private readonly durability: 'fsync' | 'process';
  private ready?: Promise<void>;
  private lastPrune = 0;
  private probed = { at: 0, ok: false, backlog: 0, oldest: undefined as string | undefined };
  private probing?: Promise<void>;
  /** Events this writer committed, and how many of them the last measurement had seen. */
  private committed = 0;
  private committedAtProbe = 0;
  private closed = false;

  constructor(store: PgStoreOptions, opts: InboxWriteOptions = {}) {
    this.conn = new PgConn({ max: 2, ...store });
    this.dedupDays = opts.dedupDays ?? 7;
    this.lockWaitMs = opts.lockWaitMs ?? 10_000;
    this.durability = opts.durability ?? 'fsync';
    void this.refresh().catch(() => undefined);
  }

  private ensureReady(): Promise<void> {
    this.ready ??= ensureInboxTables(this.conn).catch((err: unknown) => {
      // Not reachable yet: the next append tries again.
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  async appendGroups(groups: InboxEvent[][]): Promise<InboxAppendResult[]> {
    return this.appendFlat(groups.map(flatEvents));
  }

  /** appendGroups on events laid out flat (see flatEvents in sqlite-inbox.ts). */
  async appendFlat(groups: FlatEvents[]): Promise<InboxAppendResult[]> {
    await this.ensureReady();
    const now = new Date();
    const results = await this.conn.tx(async () => {
      if (this.durability === 'process') await this.conn.q('SET LOCAL synchronous_commit = off');
      // A writer stuck behind another's lock gives up (the requests get 503 and are retried).
      await this.conn.q(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.lockWaitMs))}`);
      await this.conn.q(INBOX_LOCK_SQL, [LOCK_INBOX]);
      const keySources: string[] = [];
      const keys: string[] = [];
      const keyAts: string[] = [];
      const seen = new Set<string>();
      for (const g of groups) {
        for (let i = 0; i < g.length; i += FLAT_FIELDS) {
          if (g[i + 2] === null) continue;
          const k = `${g[i]}\u0000${g[i + 2]}`;
          if (seen.has(k)) continue;
          seen.add(k);
          keySources.push(g[i]!);
          keys.push(g[i + 2]!);
          keyAts.push(g[i + 3]!);
        }
      }
      const fresh = new Set<string>();
      if (keys.length) {
        const inserted = await this.conn.q<{ source: string; dedup_key: string }>(
          `INSERT INTO inbox_dedup(source, dedup_key, at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
           ON CONFLICT (source, dedup_key) DO NOTHING RETURNING source, dedup_key`,
          [keySources, keys, keyAts],
        );
        for (const r of inserted) fresh.add(`${r.source}\u0000${r.dedup_key}`);
      }
      const cols: [(string | null)[], (string | null)[], (string | null)[], (string | null)[], (string | null)[]] = [[], [], [], [], []];
      const out = groups.map((g) => {
        let accepted = 0;
        let duplicates = 0;
        for (let i = 0; i < g.length; i += FLAT_FIELDS) {
          const dedupKey = g[i + 2];
          if (dedupKey !== null) {
            const k = `${g[i]}\u0000${dedupKey}`;
            // Only the first copy of a fresh key is stored; a later one in the same commit is a duplicate.
            if (!fresh.delete(k)) {
              duplicates++;
              continue;
            }
          }
          for (let f = 0; f < FLAT_FIELDS; f++) cols[f].push(g[i + f]);
          accepted++;
        }
        return { accepted, duplicates };
      });
      if (cols[0].length) {
        await this.conn.q(
          `INSERT INTO inbox(source, stream, dedup_key, received_at, body)
           SELECT s, st, k, r, b FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS t(s, st, k, r, b, ord)
           ORDER BY ord`,
          cols,
        );
      }
      return out;
    });
    for (const r of results) this.committed += r.accepted;
    if (now.getTime() - this.lastPrune > 60_000) {
      this.lastPrune = now.getTime();
      const cutoff = new Date(now.getTime() - this.dedupDays * 86_400_000).toISOString();
      await this.conn.q('DELETE FROM inbox_dedup WHERE at < $1', [cutoff]).catch(() => undefined);
    }
    return results;
  }

  /** Measure the probes again (the server's calls start this every PROBE_REFRESH_MS; tests await it). */
  refresh(): Promise<void> {
    this.probing ??= (async () => {
      try {
        await this.ensureReady();
        const committed = this.committed;
        const [r] = await this.conn.q<{ n: string; oldest: string | null }>(
          'SELECT (SELECT COUNT(*) FROM inbox) AS n, (SELECT received_at FROM inbox ORDER BY seq LIMIT 1) AS oldest',
        );
        this.probed = { at: Date.now(), ok: true, backlog: Number(r.n), oldest: r.oldest ?? undefined };
        this.committedAtProbe = committed;
      } catch (err) {
        this.probed = { ...this.probed, at: Date.now(), ok: false };
        throw err;
      } finally {
        this.probing = undefined;
      }
    })();
    return this.probing;
  }

  private stale(): void {
    if (!this.closed && !this.probing && Date.now() - this.probed.at > PROBE_REFRESH_MS) void this.refresh().catch(() => undefined);
  }

  /**
   * Rows not yet drained, over every source: as last measured, plus what this
   * writer committed since (the server counts its commits after the call on top,
   * so a stale measurement must not forget those before it). A commit that
   * overlapped the measurement may be counted twice until the next one.
   */
  backlog(): number {
    this.stale();
    return this.probed.backlog + (this.committed - this.committedAtProbe);
  }

  /** Seconds since the oldest undrained event was received (0 when empty; as last measured). */
  drainLagSeconds(now = Date.now()): number {
    this.stale();
    return this.probed.oldest ? Math.max(0, (now - Date.parse(this.probed.oldest)) / 1000) : 0;
  }

  /** Did the last measurement reach the store (for /readyz)? */
  ping(): boolean {
    this.stale();
    return this.probed.ok;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.probing?.catch(() => undefined);
    await this.conn.close();
  }
}
