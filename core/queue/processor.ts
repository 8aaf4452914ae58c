import { DelayedError, type Job, type Queue } from 'bullmq';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Engine } from '../engine/engine.js';
import { ConnectionError, errorMessage } from '../errors.js';
import type { Logger } from '../plugin/types.js';
import { eventDestinations, retentionTargets, runRetention } from '../privacy/retention.js';
import type { ProfileStore } from '../store/types.js';
import { outcomeLine } from '../cli/commands/run.js';
import { enqueueWork, type TickJob, type WorkJob } from './jobs.js';
import { recordFired, tickIsCurrent, type CatchUpPolicy, type SlotStore } from './catch-up.js';
import { schedulesOf } from './scheduler.js';

export interface ProcessorDeps {
  engine: Engine;
  store: ProfileStore;
  logger: Logger;
  work: Queue<WorkJob>;
  /** Stops running work between batches (SIGTERM): a sync stopped part way is handed back to the queue. */
  signal: AbortSignal;
  /** How long a job that finds its sync held elsewhere waits before it looks again. */
  retryHeldMs: number;
  onProgress?: (p: { sync: string; read: number; written: number }) => void;
  /** The queue's Redis connection, for the once-per-firing claim and the last handled firing. */
  redis: SlotStore;
  /** What a tick that arrives late past its schedule's next firing does (`queue.catchUp`, default `once`). */
  catchUp?: CatchUpPolicy;
  /** The queue prefix of the deployment (the claim's keys live under it). */
  prefix: string;
}

/** The Redis commands the firing claim needs (an ioredis client has them). */
export interface FiringStore {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<string | null>;
}

/** Who runs a sync now, as a Redis key beside the store lease `sync:<name>` (value: JSON worker, job, since). */
export function holderKey(prefix: string, sync: string): string {
  return `${prefix}:holder:sync:${sync}`;
}

/** Who this worker is in the store's leases; the lease records our pid, so a dead holder on this host is taken over at once. */
const OWNER = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
/** This worker's id: in its store leases, as the BullMQ worker name (a job's `processedBy`), in its metrics. */
export const WORKER_ID = OWNER;
/** The store lease of a running sync lasts this long past its last renewal (a holder on another host that died). */
const SYNC_LEASE_MS = 60_000;

/** How long a handled firing is remembered (far longer than any stall or scheduler race). */
const FIRING_MEMORY_MS = 24 * 3600_000;

/**
 * Claims one firing of a schedule in Redis (SET NX): true for the first caller,
 * false for any other. The scheduler makes one job per slot, but a tick job can
 * still be handled twice: taken back as stalled from a worker whose event loop
 * a long SQLite commit blocked, or created again when two processes upsert the
 * scheduler across a slot boundary (seen under load in the burst test).
 */
export async function claimFiring(redis: FiringStore, prefix: string, kind: string, name: string, slotMs: number): Promise<boolean> {
  return (await redis.set(`${prefix}:firing:${kind}:${name}:${slotMs}`, OWNER, 'PX', FIRING_MEMORY_MS, 'NX')) === 'OK';
}

/** A tick of a schedule: ask for its sync or delivery, once per firing. */
export async function processTick(deps: ProcessorDeps, job: Job<TickJob>): Promise<{ added: boolean }> {
  const { kind, name } = job.data;
  // The firing's time slot, the same for every worker: BullMQ names a scheduler's job `repeat:<scheduler id>:<slot ms>`.
  const slot = Number(String(job.id).split(':').pop());
  const slotMs = Number.isFinite(slot) ? slot : job.timestamp + (job.opts.delay ?? 0);
  const at = new Date(slotMs).toISOString();
  const pattern = deps.engine ? schedulesOf(deps.engine.config).find((s) => s.kind === kind && s.name === name)?.pattern : undefined;
  const current = await tickIsCurrent({ redis: deps.redis, prefix: deps.prefix, policy: deps.catchUp ?? 'once' }, { kind, name, slotMs, pattern });
  if (!current.current) {
    deps.logger.info(`${kind} ${name}: the firing of ${at} is skipped: ${current.why} (job ${job.id})`);
    return { added: false };
  }
  if (!(await claimFiring(deps.redis, deps.prefix, kind, name, slotMs))) {
    // Worded so that it does not read as a handled tick (`tick <kind> <name> at`).
    deps.logger.info(`${kind} ${name}: the firing of ${at} was handled already (job ${job.id}); ignored`);
    return { added: false };
  }
  await recordFired(deps.redis, deps.prefix, kind, name, slotMs);
  const { added, jobId } = await enqueueWork(deps.work, { kind, name, reason: 'schedule' }, job.timestamp);
  // The test of "once per tick" reads these lines: keep `tick <kind> <name> at <time>` in them.
  const head = `tick ${kind} ${name} at ${at} (job ${job.id})`;
  if (added) deps.logger.info(`${head}: queued ${jobId}`);
  else if (kind === 'sync') deps.logger.info(`${head}: sync ${name} is still queued or running (${jobId}); this tick is skipped`);
  else deps.logger.info(`${head}: destination ${name} is being delivered; one more delivery is queued after it`);
  return { added };
}

/** Put the job back, to be taken (by any worker) after `ms`; BullMQ then leaves it alone. */
async function handBack(job: Job<WorkJob>, token: string | undefined, ms: number): Promise<never> {
  await job.moveToDelayed(Date.now() + ms, token);
  throw new DelayedError();
}

/** A sync job: the engine resumes from the last committed checkpoint, whoever ran it before. */
export async function processSync(deps: ProcessorDeps, job: Job<WorkJob>, token?: string): Promise<unknown> {
  const { engine, store, logger, signal } = deps;
  const name = job.data.name;
  // The second guard after the queue's deduplication: a job removed by hand, or a lock lost
  // by a worker that is alive but stalled, must not start a second run of the same sync.
  const lease = `sync:${name}`;
  const held = await store.delivery.acquireLease(lease, OWNER, SYNC_LEASE_MS);
  if (held) {
    logger.warn(`sync ${name} is running in another worker (${held.holder}); job ${job.id} waits ${deps.retryHeldMs} ms`);
    return handBack(job, token, deps.retryHeldMs);
  }
  // The lease as `tributary status` reads it (the store has no listing of its leases): same holder, same lifetime.
  const holder = holderKey(deps.prefix, name);
  const holderValue = JSON.stringify({ worker: OWNER, job: job.id, since: new Date().toISOString() });
  const mirror = () => deps.redis.set(holder, holderValue, 'PX', SYNC_LEASE_MS).catch(() => undefined);
  await mirror();
  const renew = setInterval(() => {
    void store.delivery.renewLease(lease, OWNER, SYNC_LEASE_MS).catch(() => undefined);
    void mirror();
  }, SYNC_LEASE_MS / 3);
  renew.unref();
  try {
    logger.info(`sync ${name} started (job ${job.id}${job.attemptsStarted > 1 ? `, taken back from a stopped worker` : ''})`);
    const started = Date.now();
    // After-sync deliveries become jobs of their own, so they run in any worker and never hold this one.
    const o = await engine.runSync(name, { signal, deliverAfter: false, onProgress: deps.onProgress });
    if (o.skipped) return { skipped: o.skipped };
    const line = outcomeLine(o, Date.now() - started);
    if (o.interrupted && signal.aborted) {
      logger.warn(`${line}; handed back to the queue`);
      return await handBack(job, token, 0);
    }
    if (!o.ok) {
      logger.error(line);
      throw new Error(o.error ?? `sync ${name} failed`);
    }
    logger.info(line);
    for (const d of engine.config.destinations.filter((x) => x.trigger === 'after-sync')) {
      await enqueueWork(deps.work, { kind: 'deliver', name: d.name, reason: 'after-sync' });
    }
    await runRetention(store, retentionTargets(engine.config, new Date(), name), {
      eventDestinations: eventDestinations(engine.config),
      computed: engine.config.resolution.computed,
    }).then(
      (r) => {
        for (const x of r) if (x.expired) logger.info(`retention ${x.source}/${x.stream}: expired ${x.expired} track record(s) observed before ${x.before}`);
      },
      (err: unknown) => logger.error(`retention ${name} failed: ${errorMessage(err)}`),
    );
    return { runId: o.runId, ok: true };
  } finally {
    clearInterval(renew);
    await deps.redis.del(holder).catch(() => undefined);
    await store.delivery.releaseLease(lease, OWNER).catch(() => undefined);
  }
}

/** The engine's refusal when another process holds the destination's lease (core/engine/engine.ts deliverTo). */
function isHeldElsewhere(err: unknown): boolean {
  return err instanceof ConnectionError && !err.retryable && /is already being delivered/.test(err.message);
}

/** A delivery job: drain one destination's outbox. */
export async function processDeliver(deps: ProcessorDeps, job: Job<WorkJob>, token?: string): Promise<unknown> {
  const { engine, logger, signal } = deps;
  const name = job.data.name;
  try {
    logger.info(`destination ${name} started (job ${job.id}, ${job.data.reason})`);
    const r = await engine.deliverTo(name, signal);
    logger.info(`destination ${name} done: delivered ${r.delivered}, failed ${r.failed}${r.retried ? `, retried ${r.retried}` : ''}`);
    if (signal.aborted) return await handBack(job, token, 0);
    return r;
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    if (isHeldElsewhere(err)) {
      logger.warn(`destination ${name}: ${errorMessage(err)}; job ${job.id} waits ${deps.retryHeldMs} ms`);
      return handBack(job, token, deps.retryHeldMs);
    }
    logger.error(`destination ${name} failed: ${errorMessage(err)}`);
    throw err;
  }
}

/** The work queue's processor. */
export function workProcessor(deps: ProcessorDeps) {
  return (job: Job<WorkJob>, token?: string): Promise<unknown> =>
    job.data.kind === 'sync' ? processSync(deps, job, token) : processDeliver(deps, job, token);
}
