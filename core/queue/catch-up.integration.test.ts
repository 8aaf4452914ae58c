import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../plugin/types.js';
import { catchUp, lastFired, lastFiredKey, previousSlot, recordFired } from './catch-up.js';
import { openQueues, type TickJob, type WorkJob } from './jobs.js';
import { processTick, type ProcessorDeps } from './processor.js';
import { upsertSchedulers } from './scheduler.js';

// Real Redis (127.0.0.1:6379), a prefix of this run's own, deleted at the end.
const prefix = `trib-catchup-${process.pid}-${randomBytes(3).toString('hex')}`;
const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const queues = openQueues({ prefix }, redis);
const lines: string[] = [];
const logger: Logger = { debug() {}, info: (m) => void lines.push(m), warn: (m) => void lines.push(m), error: (m) => void lines.push(m) };

afterAll(async () => {
  await queues.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

async function workJobs(): Promise<WorkJob[]> {
  return (await queues.work.getJobs(['waiting', 'delayed', 'active', 'prioritized'])).map((j) => j.data);
}

const at = (iso: string) => Date.parse(iso);

describe('previous slot of a cron', () => {
  it('is the latest firing at or before now, for second, minute and sparse patterns', () => {
    expect(previousSlot('*/5 * * * * *', at('2026-12-01T10:00:12.300Z'))).toBe(at('2026-12-01T10:00:10.000Z'));
    expect(previousSlot('*/5 * * * * *', at('2026-12-01T10:00:10.000Z'))).toBe(at('2026-12-01T10:00:10.000Z'));
    expect(previousSlot('*/15 * * * *', at('2026-12-01T10:44:59.000Z'))).toBe(at('2026-12-01T10:30:00.000Z'));
    // Once a month at minute 0 of every hour on day 1: found across a month's look-back.
    expect(previousSlot('0 * 1 * *', at('2026-12-20T10:00:00.000Z'))! < at('2026-12-02T00:00:00.000Z')).toBe(true);
  });
});

describe('catch-up on start (queue.catchUp)', () => {
  const sched = [{ kind: 'sync' as const, name: 'crm', pattern: '*/2 * * * * *' }];

  it('first start records the slot and runs nothing; a start after missed firings runs the schedule once, however many schedulers start', async () => {
    await queues.work.obliterate({ force: true });
    const t0 = at('2026-12-01T10:00:01.000Z');
    const deps = { redis, prefix, work: queues.work, logger, policy: 'once' as const };
    expect(await catchUp({ ...deps, now: () => t0 }, sched)).toEqual([{ kind: 'sync', name: 'crm', state: 'first' }]);
    expect(await lastFired(redis, prefix, 'sync', 'crm')).toBe(at('2026-12-01T10:00:00.000Z'));
    expect(await workJobs()).toEqual([]);
    // Everything was down for 9 s: four firings missed. Two schedulers start at once.
    const t1 = t0 + 9000;
    const [a, b] = await Promise.all([catchUp({ ...deps, now: () => t1 }, sched), catchUp({ ...deps, now: () => t1 }, sched)]);
    expect([a[0].ranFor, b[0].ranFor].filter(Boolean)).toEqual([at('2026-12-01T10:00:10.000Z')]);
    expect(await workJobs()).toEqual([{ kind: 'sync', name: 'crm', reason: 'catch-up' }]);
    // Started again before the next firing: nothing more.
    expect((await catchUp({ ...deps, now: () => t1 + 500 }, sched))[0].state).toBe('on time');
    expect(await workJobs()).toHaveLength(1);
    // The tick of that slot, arriving late from BullMQ, is the same firing: not a second run.
    await queues.work.obliterate({ force: true });
    const tick = { id: `repeat:sync:crm:${at('2026-12-01T10:00:10.000Z')}`, data: { kind: 'sync', name: 'crm' }, timestamp: t1, opts: {} } as unknown as Job<TickJob>;
    expect(await processTick({ ...deps, catchUp: 'once' } as unknown as ProcessorDeps, tick)).toEqual({ added: false });
    // An older tick than the firing caught up is superseded.
    const older = { ...tick, id: `repeat:sync:crm:${at('2026-12-01T10:00:04.000Z')}` } as unknown as Job<TickJob>;
    expect(await processTick({ ...deps, catchUp: 'once' } as unknown as ProcessorDeps, older)).toEqual({ added: false });
    expect(await workJobs()).toEqual([]);
    expect(lines.some((l) => /sync crm: the firing of 2026-12-01T10:00:04.000Z is skipped: a later firing/.test(l))).toBe(true);
  });

  it('with none, missed firings are recorded and not run', async () => {
    await queues.work.obliterate({ force: true });
    await redis.set(lastFiredKey(prefix, 'sync', 'web'), String(at('2026-12-01T11:00:00.000Z')));
    const r = await catchUp({ redis, prefix, work: queues.work, logger, policy: 'none', now: () => at('2026-12-01T11:00:09.000Z') }, [{ kind: 'sync', name: 'web', pattern: '*/2 * * * * *' }]);
    expect(r).toEqual([{ kind: 'sync', name: 'web', state: 'missed' }]);
    expect(await workJobs()).toEqual([]);
    expect(await lastFired(redis, prefix, 'sync', 'web')).toBe(at('2026-12-01T11:00:08.000Z'));
    expect(lines.some((l) => l.includes('catch-up: sync web missed its schedule') && l.includes('not run (queue.catchUp: none)'))).toBe(true);
  });

  it('the last fired slot only moves forward', async () => {
    await recordFired(redis, prefix, 'deliver', 'crm', 5000);
    await recordFired(redis, prefix, 'deliver', 'crm', 3000);
    expect(await lastFired(redis, prefix, 'deliver', 'crm')).toBe(5000);
  });
});

describe('missed firings with the real BullMQ scheduler (a schedule every second)', () => {
  const config = { sources: [{ name: 'crm', schedule: '* * * * * *' }], destinations: [] } as never;
  const sched = [{ kind: 'sync' as const, name: 'crm', pattern: '* * * * * *' }];

  /** A deployment of its own: queues on their own prefix, and a tick worker started on demand. */
  async function deployment<T>(fn: (d: { p: string; conn: Redis; q: ReturnType<typeof openQueues>; ticks: (policy: 'once' | 'none', ms: number) => Promise<Array<{ slot: number; added: boolean; late: boolean }>> }) => Promise<T>): Promise<T> {
    const p = `${prefix}-real-${randomBytes(2).toString('hex')}`;
    const conn = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    const q = openQueues({ prefix: p }, conn);
    const ticks = async (policy: 'once' | 'none', ms: number) => {
      const deps = { redis: conn, prefix: p, work: q.work, logger, catchUp: policy, engine: { config } } as unknown as ProcessorDeps;
      const seen: Array<{ slot: number; added: boolean; late: boolean }> = [];
      const startedAt = Date.now();
      const wconn = conn.duplicate();
      const w = new Worker<TickJob>('ticks', async (job) => {
        const r = await processTick(deps, job);
        const slot = Number(String(job.id).split(':').pop());
        seen.push({ slot, added: r.added, late: slot < startedAt - 100 });
        return r;
      }, { connection: wconn, prefix: p });
      await new Promise((r) => setTimeout(r, ms));
      await w.close();
      wconn.disconnect();
      return seen;
    };
    try {
      return await fn({ p, conn, q, ticks });
    } finally {
      await q.ticks.obliterate({ force: true }).catch(() => undefined);
      await q.work.obliterate({ force: true }).catch(() => undefined);
      await q.close();
      const keys = await conn.keys(`${p}:*`);
      if (keys.length) await conn.del(...keys);
      conn.disconnect();
    }
  }

  it('scheduler restarted while no worker ran: BullMQ drops the missed tick (its upsert puts the next slot in its place); the catch-up runs it once', { timeout: 30_000 }, async () => {
    await deployment(async ({ p, conn, q }) => {
      await upsertSchedulers(q.ticks, config, logger);
      await catchUp({ redis: conn, prefix: p, work: q.work, logger, policy: 'once' }, sched);
      await new Promise((r) => setTimeout(r, 3500));
      await upsertSchedulers(q.ticks, config, logger);
      // What BullMQ kept: one tick, for a slot still to come. The missed firings are gone.
      const now = Date.now();
      const kept = await q.ticks.getJobs(['delayed', 'waiting']);
      expect(kept.map((j) => Number(String(j.id).split(':').pop()) > now - 100)).toEqual([true]);
      const r = await catchUp({ redis: conn, prefix: p, work: q.work, logger, policy: 'once' }, sched);
      expect(r[0].state).toBe('missed');
      expect((await q.work.getJobs(['waiting'])).map((j) => j.data.reason)).toEqual(['catch-up']);
    });
  });

  it('workers down, scheduler up: the tick BullMQ held back runs once with `once`, and is skipped with `none`', { timeout: 30_000 }, async () => {
    for (const policy of ['once', 'none'] as const) {
      await deployment(async ({ conn, p, q, ticks }) => {
        await upsertSchedulers(q.ticks, config, logger);
        await catchUp({ redis: conn, prefix: p, work: q.work, logger, policy }, sched);
        await new Promise((r) => setTimeout(r, 3500));
        const seen = await ticks(policy, 1200);
        const late = seen.filter((s) => s.late);
        expect(late, JSON.stringify(seen)).toHaveLength(1);
        expect(late[0].added).toBe(policy === 'once');
        // The ticks after it are on time: the first of them runs under `none` (under `once` the caught-up sync still waits in the queue).
        const onTime = seen.filter((s) => !s.late);
        expect(onTime.length).toBeGreaterThan(0);
        expect(onTime.filter((s) => s.added)).toHaveLength(policy === 'none' ? 1 : 0);
        expect(await q.work.getJobs(['waiting'])).toHaveLength(1);
      });
    }
    expect(lines.some((l) => l.includes('is late past the firing of') && l.includes('queue.catchUp: none'))).toBe(true);
  });
});
