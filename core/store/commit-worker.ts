import { parentPort, workerData } from 'node:worker_threads';
import { COMMIT_THREAD_CACHE_MB, SqliteStore } from './sqlite-store.js';
import type { RunSummary } from './types.js';
import type { EncodedBatch } from './sqlite-commit.js';
import { fault } from '../util/fault-points.js';

/**
 * The commit thread of a SQLite store (commit-pipeline.ts): it owns a second
 * connection to the same file and writes the batches the main thread resolved,
 * one transaction each, in the order they were handed over, with the same
 * commitBatch code as a store without the thread. The main thread meanwhile reads
 * and resolves the next batch.
 *
 * Messages in: { id, encoded, base } (sqlite-commit.ts), { id, updateRun } or { id, close }. `base` is the graph generation
 * the main thread resolved the batch on ('chain': on top of the previous batch of
 * this thread). Inside the write transaction the stored generation must still be that
 * one: when another process (or a forget, a rebuild) changed the graph in between, the
 * batch was resolved on a graph that is gone and is not written (`conflict`).
 * Out: { id, generation } after COMMIT, or { id, error }; for updateRun { id, progressError? }.
 */
interface In {
  id: number;
  encoded?: EncodedBatch;
  /** A run's heartbeat, written in order with the batches (the main thread would wait for the lock this thread holds); its counts come with each batch. */
  updateRun?: [number, RunSummary | undefined];
  base?: number | 'chain';
  close?: boolean;
}

export interface CommitWorkerError {
  message: string;
  name: string;
  conflict?: boolean;
}

const port = parentPort!;
const store = new SqliteStore(workerData.file as string, {
  lockWaitMs: workerData.lockWaitMs as number | undefined,
  graphCache: false,
  commitThread: false,
  cacheMb: COMMIT_THREAD_CACHE_MB,
});
let last: number | undefined;
let chain = Promise.resolve();

class GenerationConflict extends Error {}

port.on('message', (msg: In) => {
  chain = chain.then(() => handle(msg));
});

async function handle(msg: In): Promise<void> {
  if (msg.close) {
    await store.close();
    port.postMessage({ id: msg.id, generation: last ?? -1 });
    port.close();
    return;
  }
  if (msg.updateRun) {
    // A progress row that cannot be written fails that update only (the caller logs it), not the batches around it.
    const progressError = await store.updateRun(...msg.updateRun).then(
      () => undefined,
      (err: unknown) => (err as Error).message,
    );
    port.postMessage({ id: msg.id, generation: last ?? -1, progressError });
    return;
  }
  try {
    fault('commit.before-transaction');
    const generation = await store.exclusive(async () => {
      const stored = store.graphGeneration();
      const expected = msg.base === 'chain' ? last : msg.base;
      if (expected === undefined || stored !== expected) {
        throw new GenerationConflict(`the identity graph changed while the batch was resolved (generation ${stored}, resolved on ${expected ?? 'none'})`);
      }
      return store.writeEncoded(msg.encoded!);
    });
    last = generation;
    port.postMessage({ id: msg.id, generation });
  } catch (err) {
    // Nothing after a failed batch may be written on top of it: later batches were resolved on it.
    last = undefined;
    const e = err as Error;
    const error: CommitWorkerError = { message: e.message, name: e.name, conflict: err instanceof GenerationConflict || undefined };
    port.postMessage({ id: msg.id, error });
  }
}
