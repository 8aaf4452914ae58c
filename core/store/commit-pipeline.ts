import { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConnectionError, TributaryError } from '../errors.js';
import type { IdentityGraph, ProfileState, StoredRecord } from '../resolution/types.js';
import type { CommitWorkerError } from './commit-worker.js';
import type { BatchCommit, RunSummary } from './types.js';
import { encodeBatch } from './sqlite-commit.js';

/** Where the resolver of a batch stands: the graph generation it read, or on top of the batch still being written. */
export type CommitBase = number | 'chain';

interface InFlight {
  id: number;
  done: Promise<number>;
  /** identifier key -> owner, as the batch writes it. */
  owners: Map<string, string>;
  profiles: Map<string, ProfileState>;
  recordKeys: Set<string>;
  presentedKeys: Set<string>;
  /** Merges, blocking keys or probabilistic links: rows the batch changes that the overlay does not know by key. */
  wide: boolean;
}

/**
 * Batches of a SQLite store committed on a thread of their own (commit-worker.ts),
 * so that the main thread reads, maps and resolves the next batch meanwhile
 * (`store: { sqlite: ..., commitThread: true }`). Each batch is still one
 * transaction with its checkpoint, written in order; what is durable after a crash
 * is what it is without the thread.
 *
 * While a batch is being written, the next one is resolved on the stored graph seen
 * through `view`: identifier owners and profiles the unwritten batch changes come
 * from it (the main thread made them); a read that touches anything else it changes
 * (records read again, `presented` rows, merges, blocking keys) waits until it is
 * committed and then reads the store. Another process changing the graph in between
 * is caught by the generation check of the thread (the batch is refused, the sync
 * retried from its checkpoint).
 */
export class CommitPipeline {
  private nextId = 0;
  private readonly inFlight: InFlight[] = [];
  private readonly waiting = new Map<number, { resolve(g: number): void; reject(e: Error): void }>();
  private failed?: Error;
  /** The thread itself is gone: nothing more can be written through it. */
  private dead?: Error;
  private closed = false;
  /** Batches written; time the engine held its next batch back (one in flight at a time); reads answered by a batch in flight (overlayReads); the reads that had to wait for a batch in flight (by what they touched) and how long. */
  readonly stats = { batches: 0, waits: {} as Record<string, number>, waitedMs: 0, heldMs: 0, overlayReads: 0 };

  private constructor(
    private readonly worker: Worker,
    private readonly generationNow: () => number,
  ) {
    worker.on('message', (m: { id: number; generation?: number; error?: CommitWorkerError; progressError?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.progressError !== undefined) w.reject(new TributaryError(`the commit thread could not write the run's progress: ${m.progressError}`));
      else if (m.error) w.reject(this.fail(m.error));
      else w.resolve(m.generation!);
    });
    worker.on('error', (err) => this.failAll((this.dead = new TributaryError(`the commit thread failed: ${err.message}`, {}, { cause: err }))));
    worker.on('exit', (code) => {
      if (!this.closed) this.failAll((this.dead ??= new TributaryError(`the commit thread exited (${code})`)));
    });
  }

  /** undefined where the compiled worker is missing (a build without dist/): the store then commits on this thread. */
  static start(file: string, generationNow: () => number, lockWaitMs?: number): CommitPipeline | undefined {
    const workerFile = compiledWorker();
    if (!workerFile) return undefined;
    return new CommitPipeline(new Worker(workerFile, { workerData: { file, lockWaitMs } }), generationNow);
  }

  /** Call before the resolver's first read of a batch. */
  begin(): CommitBase {
    if (this.dead) throw this.dead;
    if (this.failed) {
      // Batches resolved on top of a failed one fail with it; once none is left, the next starts afresh on the store.
      if (this.inFlight.length) throw this.failed;
      this.failed = undefined;
    }
    return this.inFlight.length ? 'chain' : this.generationNow();
  }

  /** Hand a resolved batch over; resolves once it is committed (to the new graph generation). */
  submit(batch: BatchCommit, base: CommitBase): Promise<number> {
    const refused = this.dead ?? this.failed;
    if (refused) return Promise.reject(refused);
    const id = this.nextId++;
    const res = batch.resolution;
    const done = new Promise<number>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    // Copies (the resolver may reuse its maps), made with forEach and loops: a Map or Set built from an iterator
    // allocates an entry and a result object per element, about 400 bytes a record of the pipeline.
    const owners = new Map<string, string>();
    res.identifierOwners.forEach((owner, key) => owners.set(key, owner));
    const profiles = new Map<string, ProfileState>();
    for (const p of res.profiles) profiles.set(p.id, p);
    const recordKeys = new Set<string>();
    res.assignments.forEach((_, key) => recordKeys.add(key));
    const presentedKeys = new Set<string>();
    for (const pair of res.presented) presentedKeys.add(pair[0]);
    const entry: InFlight = {
      id,
      done,
      owners,
      profiles,
      recordKeys,
      presentedKeys,
      wide: res.merges.length > 0 || (res.blockingKeys?.length ?? 0) > 0 || (res.probabilisticLinks?.length ?? 0) > 0,
    };
    this.inFlight.push(entry);
    const forget = () => {
      const i = this.inFlight.indexOf(entry);
      if (i >= 0) this.inFlight.splice(i, 1);
    };
    done.then(() => {
      this.stats.batches++;
      forget();
    }, forget);
    // Encoded here: strings clone faster than the resolver's objects, and the resolver may reuse those afterwards.
    this.worker.postMessage({ id, encoded: encodeBatch(batch, new Date().toISOString()), base });
    return done;
  }

  /** How busy the thread has been since it started (for benchmarks: the main thread resolves while it writes). */
  utilization(): EventLoopUtilization {
    return this.worker.performance.eventLoopUtilization();
  }

  /** A run's heartbeat (its counts go with each batch, in its transaction), written by the thread after the batches before it (it holds the write lock meanwhile). */
  updateRun(runId: number, summary: RunSummary | undefined): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => this.waiting.set(id, { resolve: () => resolve(), reject }));
    this.worker.postMessage({ id, updateRun: [runId, summary] });
    return done;
  }

  /** Batches handed over and not yet committed. */
  get depth(): number {
    return this.inFlight.length;
  }

  /** Wait until every batch handed over is committed (rejects with the first failure). */
  async drain(): Promise<void> {
    await Promise.allSettled(this.inFlight.map((b) => b.done));
    if (this.failed) throw this.failed;
  }

  /** The graph as it is with the batches in flight applied (see the class comment). */
  view(graph: IdentityGraph): IdentityGraph {
    const wait = async (what: string, touches: (b: InFlight) => boolean) => {
      const b = this.inFlight.find((x) => x.wide || touches(x));
      if (!b) return;
      const reason = b.wide ? 'merges or blocking keys' : what;
      this.stats.waits[reason] = (this.stats.waits[reason] ?? 0) + 1;
      const t0 = performance.now();
      await this.drain();
      this.stats.waitedMs += performance.now() - t0;
    };
    const newestFirst = () => [...this.inFlight].reverse();
    return {
      lookupIdentifiers: async (keys) => {
        await wait('', () => false);
        const stored = await graph.lookupIdentifiers(keys);
        const layers = newestFirst();
        const out = new Map<string, string>();
        for (const k of keys) {
          let owner: string | undefined;
          for (const b of layers) if ((owner = b.owners.get(k)) !== undefined) break;
          if (owner !== undefined) this.stats.overlayReads++;
          else owner = stored.get(k);
          if (owner !== undefined) out.set(k, owner);
        }
        return out;
      },
      getProfiles: async (ids) => {
        await wait('', () => false);
        const layers = newestFirst();
        const fresh = (id: string) => {
          for (const b of layers) {
            const p = b.profiles.get(id);
            if (p) return p;
          }
          return undefined;
        };
        const stored = await graph.getProfiles(ids.filter((id) => !fresh(id)));
        const out = new Map<string, ProfileState>();
        for (const id of ids) {
          const p = fresh(id);
          if (p) this.stats.overlayReads++;
          // A copy: the resolver works on what it is given, and the batch in flight keeps its own.
          const state = p ? structuredClone(p) : stored.get(id);
          if (state) out.set(id, state);
        }
        return out;
      },
      recordsOfProfiles: async (ids) => {
        await wait('records of a profile in flight', (b) => ids.some((id) => b.profiles.has(id)));
        return graph.recordsOfProfiles(ids);
      },
      existingRecords: async (keys): Promise<Map<string, StoredRecord>> => {
        await wait('a record in flight read again', (b) => keys.some((k) => b.recordKeys.has(k)));
        return graph.existingRecords(keys);
      },
      presentedBy: async (keys) => {
        await wait('presented rows in flight', (b) => keys.some((k) => b.presentedKeys.has(k)));
        return graph.presentedBy(keys);
      },
      presentersOf: graph.presentersOf
        ? async (keys, limit) => {
            await wait('presented rows in flight', (b) => keys.some((k) => b.presentedKeys.has(k)));
            return graph.presentersOf!(keys, limit);
          }
        : undefined,
      candidatesByBlockingKey: graph.candidatesByBlockingKey
        ? async (keys, perKey) => {
            await wait('blocking candidates', () => true);
            return graph.candidatesByBlockingKey!(keys, perKey);
          }
        : undefined,
      latestMatchModel: graph.latestMatchModel?.bind(graph),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.drain().catch(() => undefined);
    this.closed = true;
    const id = this.nextId++;
    const bye = new Promise<void>((resolve) => this.waiting.set(id, { resolve: () => resolve(), reject: () => resolve() }));
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ id, close: true });
    // Its connection closed and its port too, the thread ends by itself (its exit handlers run); stopped only if it does not.
    await Promise.race([bye.then(() => exited), new Promise((r) => setTimeout(r, 5_000).unref())]);
    await this.worker.terminate();
  }

  private fail(e: CommitWorkerError): Error {
    const err = e.conflict
      ? new ConnectionError(`${e.message}: another process wrote to the store; the batch was not written and the sync is retried from its last checkpoint`)
      : new TributaryError(`resolving or storing a batch failed: ${e.message}`);
    this.failAll(err);
    return err;
  }

  private failAll(err: Error) {
    this.failed ??= err;
    // Every batch still waiting was resolved on top of the failed one: it fails with it.
    for (const w of this.waiting.values()) w.reject(this.failed);
    this.waiting.clear();
  }
}

/** The compiled worker next to this module, or (tests run the TypeScript sources) in dist/. */
function compiledWorker(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const candidates = here.endsWith('.js')
    ? [fileURLToPath(new URL('./commit-worker.js', import.meta.url))]
    : [fileURLToPath(new URL('../../dist/core/store/commit-worker.js', import.meta.url))];
  return candidates.find((f) => existsSync(f));
}
