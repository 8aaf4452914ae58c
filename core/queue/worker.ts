import { Worker, type Job } from 'bullmq';
import type { Booted } from '../container.js';
import type { QueueConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { authError, checkRedis, isAuthError, isConnectionLoss, redisClient, redisSecrets } from './connection.js';
import { TICKS, WORK, openQueues, type QueueHandles, type TickJob, type WorkJob } from './jobs.js';
import { WORKER_ID, processTick, workProcessor } from './processor.js';
import { serveWorkerMetrics, workerMetrics, type WorkerMetrics } from './metrics.js';
import { redisRateGates } from '../delivery/rate-limit-redis.js';
import { removeStaleSchedulers, schedulesOf, upsertSchedulers } from './scheduler.js';
import { catchUp } from './catch-up.js';

export interface DistributedOptions {
  /** Process jobs (`tributary worker`, `tributary run`); false for `run --scheduler-only`. */
  work: boolean;
  /** Upsert the job schedulers of the config (`tributary run`). */
  schedule: boolean;
  /** Overrides `queue.concurrency`. */
  concurrency?: number;
  /** Longest wait for running jobs to reach a batch boundary on SIGTERM before the worker closes anyway. */
  shutdownTimeoutMs?: number;
  onProgress?: (p: { sync: string; read: number; written: number }) => void;
  /** Serve Prometheus metrics of this worker on this port (`tributary worker --metrics-port`). */
  metricsPort?: number;
  /** Address the metrics server listens on (default all interfaces, so Prometheus on another host can scrape). */
  metricsHost?: string;
}

export interface Distributed {
  queues: QueueHandles;
  workers: Worker[];
  /** Stop taking jobs, let running ones end at a batch boundary (at most the timeout), close every connection. */
  stop(reason: string): Promise<void>;
  /** Resolves when a connection gave up for good (credentials refused after a restart of Redis). */
  fatal: Promise<Error>;
  /** The port the metrics are served on, when asked for. */
  metricsPort?: number;
}

/**
 * Distributed mode of one process: connect (waiting while Redis is down, failing at
 * once on refused credentials), upsert the schedulers, start the tick and work
 * workers. Lock and stall settings come from `queue:` so a killed worker's job is
 * taken back by another after `lockDurationMs` + at most `stalledIntervalMs`.
 */
export async function startDistributed(booted: Booted, cfg: QueueConfig, opts: DistributedOptions): Promise<Distributed> {
  const { engine, store, logger, loaded } = booted;
  for (const s of redisSecrets(cfg.redis)) loaded.secrets.add(s);
  const controller = new AbortController();
  await checkRedis({ url: cfg.redis, logger, role: 'startup' });

  let fail!: (err: Error) => void;
  const fatal = new Promise<Error>((resolve) => (fail = resolve));
  const handles = [redisClient({ url: cfg.redis, logger, role: 'queue' })];
  const watch = (h: (typeof handles)[number]) =>
    h.client.on('end', () => {
      if (isAuthError(h.lastError())) fail(authError(cfg.redis, h.lastError()));
    });
  watch(handles[0]);
  const queues = openQueues(cfg, handles[0].client);
  // A lost connection is said once per reconnect attempt by the client (connection.ts); BullMQ repeats it as
  // 'error' events of every queue and worker, and prints the ones nobody listens to with their stack.
  const onError = (what: string) => (err: Error) => {
    if (!isConnectionLoss(err)) logger.warn(`queue: ${what}: ${errorMessage(err)}`);
  };
  queues.ticks.on('error', onError('ticks queue'));
  queues.work.on('error', onError('work queue'));
  if (opts.schedule) {
    const names = await upsertSchedulers(queues.ticks, engine.config, logger);
    // A schedule that comes back later starts afresh (its catch-up compares with its own firings only).
    for (const id of await removeStaleSchedulers(queues.ticks, names, logger)) await handles[0].client.del(`${cfg.prefix}:last-fired:${id}`);
    await catchUp({ redis: handles[0].client, prefix: cfg.prefix, work: queues.work, logger, policy: cfg.catchUp }, schedulesOf(engine.config));
    // A Redis that came back empty (no persistence, a failover to a fresh replica) has lost the schedulers: put them
    // back on every reconnect. Upserting is idempotent: a slot's tick job has a fixed id, so none fires twice.
    handles[0].client.on('ready', () => {
      upsertSchedulers(queues.ticks, engine.config, logger).catch((err: unknown) => logger.warn(`queue: cannot restore the schedules: ${errorMessage(err)}`));
    });
  }

  const workers: Worker[] = [];
  let metrics: WorkerMetrics | undefined;
  let metricsServer: Awaited<ReturnType<typeof serveWorkerMetrics>> | undefined;
  if (opts.work) {
    // Each Worker blocks on its own connection; BullMQ duplicates a client given as an instance.
    const base = { prefix: cfg.prefix, lockDuration: cfg.lockDurationMs, stalledInterval: cfg.stalledIntervalMs, maxStalledCount: cfg.maxStalledCount };
    const deps = { engine, store, logger, work: queues.work, signal: controller.signal, retryHeldMs: cfg.lockDurationMs, catchUp: cfg.catchUp, onProgress: opts.onProgress, redis: handles[0].client, prefix: cfg.prefix };
    // Destination budgets count every worker's requests, not this process's alone.
    engine.useRateGates(redisRateGates({ redis: handles[0].client, prefix: cfg.prefix }));
    const w = redisClient({ url: cfg.redis, logger, role: 'worker' });
    const t = redisClient({ url: cfg.redis, logger, role: 'tick worker' });
    handles.push(w, t);
    watch(w);
    watch(t);
    let work = workProcessor(deps);
    let tick = (job: Job<TickJob>) => processTick(deps, job);
    if (opts.metricsPort !== undefined) {
      metrics = workerMetrics(WORKER_ID);
      metrics.observeCommits(store);
      work = metrics.instrument((j) => j.data.kind, work);
      tick = metrics.instrument(() => 'tick', tick);
      metricsServer = await serveWorkerMetrics(metrics.registry, { port: opts.metricsPort, host: opts.metricsHost });
      logger.info(`worker metrics on http://${opts.metricsHost ?? '0.0.0.0'}:${metricsServer.port}/metrics (worker ${WORKER_ID})`);
    }
    workers.push(
      new Worker<WorkJob>(WORK, work, { ...base, name: WORKER_ID, connection: w.client, concurrency: opts.concurrency ?? cfg.concurrency }),
      new Worker<TickJob>(TICKS, tick, { ...base, name: WORKER_ID, connection: t.client, concurrency: 1 }),
    );
    for (const worker of workers) {
      worker.on('error', onError(`${worker.name} worker`));
      worker.on('stalled', (jobId) => logger.warn(`queue: job ${jobId} was stalled (its worker stopped renewing the lock); it runs again`));
      worker.on('failed', (job, err) => {
        if (job) logger.warn(`queue: job ${job.id} (${job.name} ${(job.data as { name?: string }).name ?? ''}) failed: ${errorMessage(err)}`);
      });
    }
    logger.info(`worker started: concurrency ${opts.concurrency ?? cfg.concurrency}, lock ${cfg.lockDurationMs} ms, stalled check every ${cfg.stalledIntervalMs} ms`);
  }

  const stop = async (reason: string) => {
    controller.abort(reason);
    const timeout = opts.shutdownTimeoutMs ?? 60_000;
    // worker.close() waits for running jobs with no limit of its own: bound it.
    let timer: NodeJS.Timeout | undefined;
    const closed = Promise.allSettled(workers.map((w) => w.close()));
    const timedOut = await Promise.race([
      closed.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeout))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      logger.warn(`queue: running jobs did not stop within ${timeout} ms; closing anyway (another worker takes them back after the lock expires)`);
      await Promise.allSettled(workers.map((w) => w.close(true)));
    }
    engine.useRateGates(undefined);
    await metricsServer?.close();
    await queues.close();
    for (const h of handles) h.client.disconnect();
  };
  return { queues, workers, stop, fatal, metricsPort: metricsServer?.port };
}
