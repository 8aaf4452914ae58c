import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { QueueConfig } from '../config/schema.js';

/**
 * The two queues of distributed mode.
 *
 * - `ticks`: one job per firing of a schedule, made by BullMQ's job schedulers
 *   (one scheduler per scheduled source or destination, upserted by `tributary run`).
 *   Whichever worker takes a tick only turns it into a work job, so a tick is
 *   handled once however many workers run.
 * - `work`: sync and delivery jobs, `queue.concurrency` at a time per worker.
 *   Each job is deduplicated by what it runs (`sync:<source>`, `deliver:<destination>`).
 */
export const TICKS = 'ticks';
export const WORK = 'work';

export type WorkKind = 'sync' | 'deliver';

export interface WorkJob {
  kind: WorkKind;
  /** The source (sync) or destination (deliver) name. */
  name: string;
  /** What asked for it: a schedule tick, a sync that committed, a worker that stopped part way. */
  reason: 'schedule' | 'after-sync' | 'handed-back' | 'manual' | 'catch-up';
}

export type TickJob = Pick<WorkJob, 'kind' | 'name'>;

/** The deduplication id, and the job scheduler id, of one sync or destination. */
export function workKey(kind: WorkKind, name: string): string {
  return `${kind}:${name}`;
}

/** Failed jobs kept for `status` and for people; completed ones only briefly (the store keeps run history). */
const KEEP = { removeOnComplete: { count: 200 }, removeOnFail: { count: 1000 } } satisfies JobsOptions;

/**
 * Options of a work job. A sync is deduplicated plainly: while its job exists
 * (waiting, active, or taken back from a dead worker) another request for it is
 * dropped, so a sync never runs twice at once; the key goes when the job
 * completes or fails, so the next tick starts it again. A delivery keeps the last
 * request made while one is active (`keepLastIfActive`): a sync that commits
 * while its destination is being delivered still gets a delivery after it.
 * A job removed by hand no longer blocks a duplicate: the store lease taken
 * by the worker (core/queue/processor.ts) is the second guard.
 */
export function workJobOptions(kind: WorkKind, name: string): JobsOptions {
  const id = workKey(kind, name);
  return {
    ...KEEP,
    attempts: 1,
    deduplication: kind === 'deliver' ? { id, keepLastIfActive: true } : { id },
  };
}

export interface QueueHandles {
  ticks: Queue<TickJob>;
  work: Queue<WorkJob>;
  close(): Promise<void>;
}

/** The two queues on one connection (BullMQ reuses a client given as an instance for non-blocking commands). */
export function openQueues(cfg: Pick<QueueConfig, 'prefix'>, connection: ConnectionOptions): QueueHandles {
  const ticks = new Queue<TickJob>(TICKS, { connection, prefix: cfg.prefix });
  const work = new Queue<WorkJob>(WORK, { connection, prefix: cfg.prefix });
  return {
    ticks,
    work,
    close: async () => {
      await Promise.allSettled([ticks.close(), work.close()]);
    },
  };
}

/**
 * Ask for a sync or delivery. Returns whether a new job was added; `false` means
 * one for the same sync or destination is already queued or running (for a
 * delivery running now: the request is kept and runs after it).
 */
export async function enqueueWork(work: Queue<WorkJob>, job: WorkJob, stamp = Date.now()): Promise<{ added: boolean; jobId: string }> {
  // BullMQ refuses a custom id with one `:` (those are its scheduler ids): dashes only.
  const jobId = `${job.kind}-${job.name}-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
  const added = await work.add(job.kind, job, { ...workJobOptions(job.kind, job.name), jobId });
  return { added: added.id === jobId, jobId: added.id ?? jobId };
}
