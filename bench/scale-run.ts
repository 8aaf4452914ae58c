import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { boot } from '../core/container.js';
import type { Logger } from '../core/plugin/types.js';
import { enqueueWork, openQueues } from '../core/queue/jobs.js';
import { loadAverage, machineCpu, PgBackendCpu, procCpu, reapedChildrenCpu, redisCounters } from './scale-procs.js';

/** One measured run of the scale benchmark: one fresh store, one key prefix. */
export interface RunFigures {
  label: string;
  workers: number;
  records: number;
  seconds: number;
  /** CPU of the tributary processes: during the measured window (live), and start to exit (reaped). */
  workerCpu: number;
  workerCpuWhole: number;
  pgCpu?: { cpu: number; backends: number };
  /** Server-wide deltas of Redis's own counters over the window; commands without the bench's own polls of job states. */
  redis?: { cpu: number; commands: number };
  machineBusy: number;
  load: string;
  profiles: number;
  /** Batch commits logged by the processes: their count and summed ms from asking for the store's lock to commit done. */
  batches: number;
  batchMs: number;
}

/** The CLI of the same build as this bench (dist/ or another outDir). */
export const CLI = fileURLToPath(new URL('../core/cli/main.js', import.meta.url));
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface Child {
  proc: ChildProcess;
  log(): string;
  batches: { n: number; ms: number };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[]): Child {
  const env = { ...process.env };
  delete env.TRIBUTARY_FAULT;
  // Debug logs for the engine's `batch committed ... ms=` lines (sync-runner.ts): the time each batch spent
  // waiting for and holding the store's resolve lock.
  const proc = spawn(process.execPath, [CLI, '--log-level', 'debug', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let partial = '';
  const batches = { n: 0, ms: 0 };
  // Keep the tail only: a long run logs a few lines per batch.
  const keep = (d: Buffer) => {
    const text = d.toString();
    out = (out + text).slice(-20_000);
    const lines = (partial + text).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      const m = /batch committed .*\bms=(\d+)/.exec(l);
      if (m) {
        batches.n++;
        batches.ms += Number(m[1]);
      }
    }
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, log: () => out, batches, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Profiles in the store and records read by its succeeded sync runs. */
export async function storeTotals(configFile: string): Promise<{ profiles: number; read: number; failedRuns: number }> {
  const b = await boot({ configFile, logger: quiet });
  try {
    const runs = (await b.store.recentRuns(100_000)).filter((r) => r.kind === 'sync');
    const read = runs.filter((r) => r.status === 'succeeded').reduce((a, r) => a + Object.values(r.summary?.streams ?? {}).reduce((x, s) => x + s.read, 0), 0);
    return { profiles: await b.store.countProfiles(), read, failedRuns: runs.filter((r) => r.status !== 'succeeded').length };
  } finally {
    await b.close();
  }
}

/** `tributary sync` of every source in one process (no queue): the single-process figure. */
export async function runSingle(label: string, configFile: string, records: number): Promise<RunFigures> {
  const load = loadAverage();
  const m0 = machineCpu();
  const c0 = reapedChildrenCpu();
  const t0 = process.hrtime.bigint();
  const c = start(['sync', '--no-deliver', '--config', configFile]);
  const { code, signal } = await c.exited;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = reapedChildrenCpu() - c0;
  const m1 = machineCpu();
  if (code !== 0) throw new Error(`${label}: tributary sync exited with ${code ?? signal}:\n${c.log().slice(-3000)}`);
  const totals = await storeTotals(configFile);
  if (totals.read !== records) throw new Error(`${label}: the sync runs read ${totals.read} records, expected ${records}`);
  return {
    label,
    workers: 1,
    records,
    seconds,
    workerCpu: cpu,
    workerCpuWhole: cpu,
    machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total),
    load,
    profiles: totals.profiles,
    batches: c.batches.n,
    batchMs: c.batches.ms,
  };
}

export interface DistributedRun {
  label: string;
  configFile: string;
  workers: number;
  sources: string[];
  records: number;
  redisUrl: string;
  prefix: string;
  /** The admin connection to read backend CPU with (PostgreSQL store only). */
  pgAdmin?: pg.Client;
  /** Give up after this long (a stuck job must not hang the bench). */
  timeoutMs: number;
}

/** N `tributary worker` processes, one sync job per source, wall time from enqueue to the last job's finish. */
export async function runDistributed(o: DistributedRun): Promise<RunFigures> {
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
  const queues = openQueues({ prefix: o.prefix }, redis);
  // The bench's own polls are counted by Redis too: two ZCARDs a round, taken out of the figure.
  let pollCommands = 0;
  const c0 = reapedChildrenCpu();
  const workers = Array.from({ length: o.workers }, () => start(['worker', '--config', o.configFile]));
  try {
    const bootDeadline = Date.now() + 120_000;
    while (!workers.every((w) => /worker started/.test(w.log()))) {
      const dead = workers.find((w) => w.proc.exitCode !== null);
      if (dead) throw new Error(`${o.label}: a worker exited before it started:\n${dead.log().slice(-3000)}`);
      if (Date.now() > bootDeadline) throw new Error(`${o.label}: workers not started after 120 s`);
      await sleep(100);
    }
    const pids = workers.map((w) => w.proc.pid!);
    const pgCpu = o.pgAdmin ? new PgBackendCpu(o.pgAdmin) : undefined;
    await pgCpu?.start(pids);
    const w0 = pids.map((p) => procCpu(p) ?? 0);
    const r0 = await redisCounters(redis);
    const m0 = machineCpu();
    const load = loadAverage();
    const enqueuedAt = Date.now();
    const ids: string[] = [];
    for (const name of o.sources) {
      const { added, jobId } = await enqueueWork(queues.work, { kind: 'sync', name, reason: 'manual' });
      if (!added) throw new Error(`${o.label}: the sync job of ${name} was not added (a duplicate in a fresh prefix?)`);
      ids.push(jobId);
    }
    let lastSample = 0;
    for (;;) {
      const [done, failed] = await Promise.all([redis.zcard(`${o.prefix}:work:completed`), redis.zcard(`${o.prefix}:work:failed`)]);
      pollCommands += 2;
      if (failed) {
        const [job] = await queues.work.getFailed(0, 0);
        throw new Error(`${o.label}: job ${job?.id} failed: ${job?.failedReason}\n${workers.map((w) => w.log().slice(-1500)).join('\n---\n')}`);
      }
      if (done >= ids.length) break;
      if (Date.now() - enqueuedAt > o.timeoutMs) throw new Error(`${o.label}: not done after ${o.timeoutMs / 1000} s (${done} of ${ids.length} jobs completed)`);
      if (pgCpu && Date.now() - lastSample > 1000) {
        await pgCpu.sample(pids);
        lastSample = Date.now();
      }
      await sleep(500);
    }
    await pgCpu?.sample(pids);
    const w1 = pids.map((p) => procCpu(p) ?? 0);
    const r1 = await redisCounters(redis);
    const m1 = machineCpu();
    const jobs = await Promise.all(ids.map((id) => queues.work.getJob(id)));
    const skipped = jobs.filter((j) => !j || (j.returnvalue as { ok?: boolean } | null)?.ok !== true);
    if (skipped.length) throw new Error(`${o.label}: ${skipped.length} job(s) completed without a sync (skipped or gone): ${skipped.map((j) => j?.id).join(', ')}`);
    const finished = Math.max(...jobs.map((j) => j!.finishedOn ?? 0));
    const seconds = (finished - enqueuedAt) / 1000;
    await Promise.all(workers.map(async (w) => {
      w.proc.kill('SIGTERM');
      const { code, signal } = await w.exited;
      if (code !== 0) throw new Error(`${o.label}: worker ${w.proc.pid} exited with ${code ?? signal}:\n${w.log().slice(-2000)}`);
    }));
    const totals = await storeTotals(o.configFile);
    if (totals.read !== o.records) throw new Error(`${o.label}: the sync runs read ${totals.read} records, expected ${o.records}`);
    return {
      label: o.label,
      workers: o.workers,
      records: o.records,
      seconds,
      workerCpu: w1.reduce((a, x, i) => a + x - w0[i], 0),
      workerCpuWhole: reapedChildrenCpu() - c0,
      pgCpu: pgCpu?.seconds(),
      redis: { cpu: r1.cpu - r0.cpu, commands: r1.commands - r0.commands - pollCommands - 1 },
      machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total),
      load,
      profiles: totals.profiles,
      batches: workers.reduce((a, w) => a + w.batches.n, 0),
      batchMs: workers.reduce((a, w) => a + w.batches.ms, 0),
    };
  } finally {
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
    await queues.close();
    await deletePrefix(redis, o.prefix);
    redis.disconnect();
  }
}

/** Every key of a run's prefix (queues, deduplication keys, firing claims). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
