import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { CLI, tempDir, writeConfig, writeData } from '../../test/crash/dataset.js';
import { enqueueWork, openQueues } from './jobs.js';
import type { QueueStatus } from './status.js';

// `tributary worker --metrics-port` and `tributary status` against the real local Redis, with a real worker
// process of the built CLI. The prefix is this run's own; its keys are deleted at the end.

const REDIS = 'redis://127.0.0.1:6379';
const prefix = `trib-ops-${process.pid}-${randomBytes(3).toString('hex')}`;
let dir: string;
let config: string;
let db: string;
const children: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms: number, log: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log().trim().split('\n').slice(-8).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function status(json: boolean): string {
  const env = { ...process.env };
  delete env.TRIBUTARY_FAULT;
  const r = spawnSync(process.execPath, [CLI, 'status', '--config', config, ...(json ? ['--json'] : [])], { encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

async function enqueue(name: string): Promise<void> {
  const conn = new Redis(REDIS, { maxRetriesPerRequest: null });
  const q = openQueues({ prefix }, conn);
  await enqueueWork(q.work, { kind: 'sync', name, reason: 'manual' });
  await q.close();
  conn.disconnect();
}

/** One sample of the scrape: the value of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

beforeAll(() => {
  dir = tempDir('queue-ops');
  writeData(dir, 6000, 2000);
  ({ config, db } = writeConfig(dir, 'ops'));
  const y = parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
  y.queue = { redis: REDIS, prefix, lockDurationMs: 20_000, stalledIntervalMs: 5000 };
  writeFileSync(config, stringify(y));
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  const redis = new Redis(REDIS);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('operations of distributed mode (real Redis, a real worker process)', () => {
  it('status shows the queues, the worker, the running sync and who holds it; the worker serves its metrics', { timeout: 240_000 }, async () => {
    const port = await freePort();
    // The first batch commit holds the worker 8 s: the sync is running (job active, lease held) while status looks.
    const env = { ...process.env, TRIBUTARY_FAULT: 'batch.after-commit:pause=8000' };
    const proc = spawn(process.execPath, [CLI, 'worker', '--config', config, '--metrics-port', String(port), '--metrics-host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    children.push(proc);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const log = () => out;
    await until('the worker to start', () => /worker started/.test(out), 60_000, log);
    const worker = /worker metrics on \S+ \(worker (\S+)\)/.exec(out)?.[1];
    expect(worker).toMatch(new RegExp(`:${proc.pid}:`));

    // Before any job: the worker is connected, nothing runs.
    const idle = JSON.parse(status(true)) as { queue: QueueStatus };
    expect(idle.queue.workers).toContain(worker);
    expect(idle.queue.queues.work).toEqual({ waiting: 0, active: 0, delayed: 0, failed: 0 });
    expect(idle.queue.syncs).toEqual([]);

    await enqueue('crm');
    const busy = await until(
      'status to show the running sync',
      () => {
        const s = JSON.parse(status(true)) as { queue: QueueStatus };
        return s.queue.syncs.length ? s.queue : undefined;
      },
      60_000,
      log,
    );
    expect(busy.queues.work.active).toBe(1);
    expect(busy.active).toEqual([expect.objectContaining({ kind: 'sync', name: 'crm', worker })]);
    expect(busy.syncs).toEqual([expect.objectContaining({ source: 'crm', worker, job: busy.active[0].id, run: expect.objectContaining({ pid: proc.pid }) })]);
    const text = status(false);
    expect(text).toContain(`queue ${prefix} on Redis 127.0.0.1:6379`);
    expect(text).toMatch(/work jobs: +waiting 0, active 1, delayed 0, failed 0/);
    expect(text).toContain(`sync crm: held by ${worker} for job ${busy.active[0].id}`);

    await until('the sync to finish', () => /sync crm done in/.test(out) && !JSON.parse(status(true)).queue.syncs.length, 120_000, log);
    // A sync of a source the config does not have fails in the worker.
    await enqueue('nope');
    await until('the failed job', () => (JSON.parse(status(true)) as { queue: QueueStatus }).queue.queues.work.failed === 1, 60_000, log);

    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const scrape = await res.text();
    const store = new Database(db, { readonly: true });
    const summary = JSON.parse(store.prepare("SELECT summary FROM runs WHERE kind = 'sync' AND status = 'succeeded'").pluck().get() as string) as { streams: Record<string, { written: number }> };
    const syncRuns = store.prepare("SELECT COUNT(*) FROM runs WHERE kind = 'sync'").pluck().get() as number;
    store.close();
    expect(syncRuns).toBe(1);
    const written = Object.values(summary.streams).reduce((a, s) => a + s.written, 0);
    expect(written).toBeGreaterThan(0);
    expect(sample(scrape, 'tributary_jobs_completed_total', { kind: 'sync', worker: worker! })).toBe(1);
    expect(sample(scrape, 'tributary_jobs_failed_total', { kind: 'sync', worker: worker! })).toBe(1);
    expect(sample(scrape, 'tributary_jobs_active', { kind: 'sync', worker: worker! })).toBe(0);
    expect(sample(scrape, 'tributary_records_synced_total', { source: 'crm', worker: worker! })).toBe(written);
    // 6,000 customers and 2,000 orders in batches of at most 500: at least 16 commits, each timed.
    expect(sample(scrape, 'tributary_batch_commit_seconds_count', { source: 'crm', worker: worker! })).toBeGreaterThanOrEqual(16);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);

    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  });
});
