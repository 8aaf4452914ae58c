import type Database from 'better-sqlite3';
import { GraphCache, type GraphDelta } from './graph-cache.js';

const GENERATION_KEY = 'graph_generation';

/**
 * The graph's generation: a counter in `meta` that every transaction changing the
 * identity graph (identifiers, presented, profiles) raises, in whichever process it
 * runs. A process's GraphCache is valid while the counter is the one it mirrors.
 * `PRAGMA data_version` cannot tell this: the serve inbox writes the same file from
 * another connection all the time without touching the graph. 0 on a store that never had one.
 */
export function readGraphGeneration(db: Database.Database): number {
  const v = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(GENERATION_KEY) as string | undefined;
  return v === undefined ? 0 : Number(v);
}

/** Raise the generation inside the caller's write transaction; returns the new value. */
export function bumpGraphGeneration(db: Database.Database): number {
  const v = db
    .prepare(
      `INSERT INTO meta(key, value) VALUES (?, '1')
       ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) RETURNING value`,
    )
    .pluck()
    .get(GENERATION_KEY) as string;
  return Number(v);
}

export interface GraphCacheStats {
  /** Full loads (cold start, or after another writer or a rebuild/forget changed the graph). */
  loads: number;
  /** Batches applied to the cache after their commit. */
  applied: number;
  /** Reads answered from memory / by SQL (while this connection has uncommitted graph writes, or the cache is off). */
  hits: number;
  misses: number;
  identifiers: number;
  /** Whether a cache is held now. */
  loaded: boolean;
}

/**
 * Keeps a GraphCache true to the committed store across one connection's transactions.
 *
 * - Batch changes are staged and applied only once their transaction has committed;
 *   a rollback (or a fault before COMMIT) drops what was staged and keeps the cache.
 * - While this connection has uncommitted graph writes, reads go to SQL (they must see them).
 * - The generation is checked once per `exclusive` (which holds the write lock, so
 *   nobody else can change it until COMMIT), and on every read outside one.
 * - A change that is not replayed (rebuild, forget) drops the cache; the next read
 *   loads it again in one pass.
 */
export class GraphCacheSession {
  private cache?: GraphCache;
  private inExclusive = false;
  /** The generation was checked in this exclusive. */
  private checked = false;
  /** This connection wrote the graph in the open transaction: reads go to SQL until it ends. */
  private dirty = false;
  private staged: Array<{ delta: GraphDelta; generation: number }> = [];
  private readonly counts = { loads: 0, applied: 0, hits: 0, misses: 0 };

  private readonly generationStmt: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.generationStmt = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
  }

  /** After BEGIN IMMEDIATE. */
  beginExclusive(): void {
    this.inExclusive = true;
    this.checked = false;
    this.dirty = false;
    this.staged = [];
  }

  /** After COMMIT (committed) or ROLLBACK. */
  endExclusive(committed: boolean): void {
    if (committed) for (const s of this.staged) this.applyCommitted(s.delta, s.generation);
    this.inExclusive = false;
    this.checked = false;
    this.dirty = false;
    this.staged = [];
  }

  /**
   * A batch's transaction (a savepoint inside `exclusive`, or a transaction of its own)
   * returned without error, having raised the generation to `generation`.
   */
  batchWritten(delta: GraphDelta, generation: number): void {
    if (!this.inExclusive) {
      this.applyCommitted(delta, generation);
      return;
    }
    this.staged.push({ delta, generation });
    this.dirty = true;
  }

  /** The graph was rewritten in a way the cache does not replay (rebuild, forget): drop it. */
  invalidate(): void {
    this.cache = undefined;
    this.staged = [];
    if (this.inExclusive) this.dirty = true;
  }

  /** The cache to answer a read from, or undefined to read SQL. */
  ready(): GraphCache | undefined {
    if (this.dirty) {
      this.counts.misses++;
      return undefined;
    }
    if (!this.inExclusive || !this.checked) {
      const current = this.readGeneration();
      if (this.cache && this.cache.generation !== current) this.cache = undefined;
      if (this.inExclusive) this.checked = true;
    }
    if (!this.cache) this.cache = this.load();
    this.counts.hits++;
    return this.cache;
  }

  stats(): GraphCacheStats {
    return { ...this.counts, identifiers: this.cache?.identifierCount ?? 0, loaded: this.cache !== undefined };
  }

  private applyCommitted(delta: GraphDelta, generation: number): void {
    // Only a cache of the generation just before this batch's may replay it.
    if (this.cache && this.cache.generation === generation - 1) {
      this.cache.apply(delta);
      this.cache.generation = generation;
      this.counts.applied++;
    } else this.cache = undefined;
  }

  private readGeneration(): number {
    const v = this.generationStmt.get(GENERATION_KEY) as string | undefined;
    return v === undefined ? 0 : Number(v);
  }

  private load(): GraphCache {
    this.counts.loads++;
    // One read transaction (a savepoint inside a write one): the generation and the three tables agree.
    return this.db.transaction(() => GraphCache.load(this.db, this.readGeneration()))();
  }
}
