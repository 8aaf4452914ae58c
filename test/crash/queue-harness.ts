import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { Redis } from 'ioredis';
import { enqueueWork, openQueues } from '../../core/queue/jobs.js';
import { CLI, writeConfig } from './dataset.js';
import { runsOf } from './store-snapshot.js';

/**
 * Distributed mode against the real local Redis, with real child processes of the built CLI, for the tests in
 * core/queue/. Each test file makes one harness: every test takes its own key prefix (newPrefix), whose keys
 * `cleanup` deletes, and every child it starts is killed by `cleanup` if still running.
 */

export const REDIS = 'redis://127.0.0.1:6379';

export interface Child {
  proc: ChildProcess;
  log: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface QueueHarness {
  /** Every process started (CLI children and the tests' own servers), for cleanup. */
  children: ChildProcess[];
  /** The CLI processes of the running test, for the timeout messages; a test file empties it before each test. */
  started: Array<{ what: string; log: () => string }>;
  newPrefix(label: string): string;
  /** A CLI child, its stdout and stderr in one log; TRIBUTARY_FAULT is passed only when `env` sets it. */
  start(args: string[], env?: Record<string, string>): Child;
  /** Polls `fn` every 100 ms until it is truthy; on timeout, fails with the last lines of every started CLI child. */
  until<T>(what: string, fn: () => T | undefined | false, ms?: number, progress?: () => string): Promise<T>;
  cleanup(): Promise<void>;
}

export function queueHarness(): QueueHarness {
  const prefixes: string[] = [];
  const children: ChildProcess[] = [];
  const started: QueueHarness['started'] = [];
  return {
    children,
    started,
    newPrefix(label) {
      const p = `trib-test-${label}-${process.pid}-${randomBytes(3).toString('hex')}`;
      prefixes.push(p);
      return p;
    },
    start(args, env = {}) {
      const e = { ...process.env, ...env };
      if (!env.TRIBUTARY_FAULT) delete e.TRIBUTARY_FAULT;
      const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: e });
      children.push(proc);
      let out = '';
      started.push({ what: `${args[0]} (pid ${proc.pid})`, log: () => out });
      proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
      return { proc, log: () => out, exited };
    },
    async until(what, fn, ms = 120_000, progress) {
      const deadline = Date.now() + ms;
      for (;;) {
        const v = fn();
        if (v) return v;
        if (Date.now() > deadline) {
          const tails = started.map((c) => `${c.what}: ${c.log().trim().split('\n').slice(-6).join(' | ')}`).join('\n');
          throw new Error(`timed out waiting for ${what}${progress ? ` (${progress()})` : ''}\n${tails}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async cleanup() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      const redis = new Redis(REDIS);
      for (const p of prefixes) {
        const keys = await redis.keys(`${p}:*`);
        if (keys.length) await redis.del(...keys);
      }
      redis.disconnect();
    },
  };
}

/**
 * A config of the crash data set with `queue:` added: short lock and stall times, so a dead worker's job comes back
 * within seconds. Not shorter: a batch holds the event loop (SQLite commits synchronously), and a lock not renewed
 * in time makes a live worker's job look stalled (the store lease then keeps the second worker waiting).
 */
export function queuedConfig(
  dir: string,
  name: string,
  prefix: string,
  extra: { schedule?: string; redis?: string; deliverAfterSync?: boolean; commitThread?: boolean; lockDurationMs?: number } = {},
): { config: string; db: string; feed: string } {
  const out = { ...writeConfig(dir, name, { schedule: extra.schedule, commitThread: extra.commitThread }), feed: join(dir, `${name}-feed.jsonl`) };
  const y = parse(readFileSync(out.config, 'utf8')) as { destinations: Array<{ trigger: string }> } & Record<string, unknown>;
  if (extra.deliverAfterSync) y.destinations[0].trigger = 'after-sync';
  y.queue = { redis: extra.redis ?? REDIS, prefix, lockDurationMs: extra.lockDurationMs ?? 5000, stalledIntervalMs: 1000, maxStalledCount: 1 };
  writeFileSync(out.config, stringify(y));
  return out;
}

export function succeededRuns(db: string) {
  try {
    return runsOf(db).filter((r) => r.status === 'succeeded');
  } catch {
    return []; // the store file is not there yet
  }
}

export async function enqueueSync(prefix: string, name = 'crm'): Promise<void> {
  const conn = new Redis(REDIS, { maxRetriesPerRequest: null });
  const q = openQueues({ prefix }, conn);
  await enqueueWork(q.work, { kind: 'sync', name, reason: 'manual' });
  await q.close();
  conn.disconnect();
}

/** SIGTERM unless it has exited already; resolves once it has. */
export async function stop(c: Child): Promise<void> {
  if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGTERM');
  await c.exited;
}
