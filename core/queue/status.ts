import { Redis } from 'ioredis';
import type { QueueConfig } from '../config/schema.js';
import { ConnectionError, errorMessage } from '../errors.js';
import type { RunRecord } from '../store/types.js';
import { redisAddress } from './connection.js';
import { openQueues, type WorkKind } from './jobs.js';
import { holderKey } from './processor.js';

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface QueueStatus {
  /** `host:port[/db]` of Redis, never with its credentials. */
  redis: string;
  prefix: string;
  queues: { work: QueueCounts; ticks: QueueCounts };
  /** Worker processes connected now (BullMQ's client names), by worker id. */
  workers: string[];
  /** Jobs running now, with the worker that holds each (BullMQ's `processedBy`). */
  active: Array<{ id: string; kind: WorkKind; name: string; worker?: string; since?: string; attempt: number }>;
  /** Syncs running now: the holder of each `sync:<source>` lease, and the store's run record of it. */
  syncs: Array<{ source: string; worker?: string; job?: string; since?: string; run?: { id: number; pid?: number; host?: string } }>;
}

/** A client for one look: no endless reconnects, so `status` answers quickly when Redis is down. */
function lookClient(url: string): Redis {
  return new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null, enableOfflineQueue: false });
}

function counts(c: Record<string, number>): QueueCounts {
  return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
}

/**
 * What the queue of a deployment holds now: job counts of both queues, the
 * workers connected, the jobs running and who runs them, and which worker holds
 * each running sync (joined with the store's runs that are still open).
 */
export async function queueStatus(cfg: Pick<QueueConfig, 'redis' | 'prefix'>, sources: string[], runningRuns: RunRecord[]): Promise<QueueStatus> {
  const client = lookClient(cfg.redis);
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new ConnectionError(`queue: Redis at ${redisAddress(cfg.redis)} is unreachable: ${errorMessage(err)}`, {}, { retryable: false });
  }
  const queues = openQueues(cfg, client);
  try {
    const [work, ticks, activeJobs, workers] = await Promise.all([
      queues.work.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
      queues.ticks.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed'),
      queues.work.getJobs(['active']),
      queues.work.getWorkers(),
    ]);
    const active = activeJobs
      .filter((j) => j?.data)
      .map((j) => ({
        id: String(j.id),
        kind: j.data.kind,
        name: j.data.name,
        ...(j.processedBy ? { worker: j.processedBy } : {}),
        ...(j.processedOn ? { since: new Date(j.processedOn).toISOString() } : {}),
        attempt: j.attemptsStarted,
      }));
    const holders = sources.length ? await client.mget(...sources.map((s) => holderKey(cfg.prefix, s))) : [];
    const syncs: QueueStatus['syncs'] = [];
    sources.forEach((source, i) => {
      const run = runningRuns.find((r) => r.kind === 'sync' && r.name === source && r.status === 'running');
      const raw = holders[i];
      if (!raw && !run) return;
      let h: { worker?: string; job?: string; since?: string } = {};
      try {
        if (raw) h = JSON.parse(raw) as typeof h;
      } catch {
        h = {};
      }
      syncs.push({ source, ...h, ...(run ? { run: { id: run.id, pid: run.pid, host: run.host } } : {}) });
    });
    return {
      redis: redisAddress(cfg.redis),
      prefix: cfg.prefix,
      queues: { work: counts(work), ticks: counts(ticks) },
      // BullMQ names a worker's connection `<queue client name>:w:<worker name>`.
      workers: [...new Set(workers.map((w) => w.rawname?.split(':w:')[1]).filter((n): n is string => !!n))].sort(),
      active,
      syncs,
    };
  } finally {
    await queues.close();
    client.disconnect();
  }
}

/** The text of `status` for the queue: one line per queue, per worker list, per running job and sync. */
export function queueStatusLines(q: QueueStatus): string[] {
  const c = (x: QueueCounts) => `waiting ${x.waiting}, active ${x.active}, delayed ${x.delayed}, failed ${x.failed}`;
  const lines = [`queue ${q.prefix} on Redis ${q.redis}`, `  work jobs:  ${c(q.queues.work)}`, `  tick jobs:  ${c(q.queues.ticks)}`];
  lines.push(`  workers:    ${q.workers.length ? q.workers.join(', ') : 'none connected'}`);
  for (const j of q.active) lines.push(`  running job ${j.id}: ${j.kind} ${j.name} on ${j.worker ?? 'an unnamed worker'}${j.since ? ` since ${j.since}` : ''}${j.attempt > 1 ? ` (attempt ${j.attempt})` : ''}`);
  for (const s of q.syncs) {
    const run = s.run ? `store run #${s.run.id}${s.run.pid ? ` (pid ${s.run.pid} on ${s.run.host})` : ''}` : 'no open store run';
    lines.push(`  sync ${s.source}: held by ${s.worker ?? 'no worker (lease not held)'}${s.job ? ` for job ${s.job}` : ''}${s.since ? ` since ${s.since}` : ''}; ${run}`);
  }
  if (!q.active.length && !q.syncs.length) lines.push('  nothing running');
  return lines;
}
