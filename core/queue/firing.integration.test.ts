import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../plugin/types.js';
import { openQueues, type TickJob } from './jobs.js';
import { claimFiring, processTick, type ProcessorDeps } from './processor.js';

// Real Redis (127.0.0.1:6379), a prefix of this run's own.
const prefix = `trib-firing-${process.pid}-${randomBytes(3).toString('hex')}`;
const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const queues = openQueues({ prefix }, redis);

afterAll(async () => {
  await queues.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('one firing of a schedule is handled once', () => {
  it('the claim is granted to the first caller only, per schedule and slot', async () => {
    expect(await claimFiring(redis, prefix, 'sync', 'crm', 1_000)).toBe(true);
    expect(await claimFiring(redis, prefix, 'sync', 'crm', 1_000)).toBe(false);
    expect(await claimFiring(redis, prefix, 'sync', 'crm', 2_000)).toBe(true);
    expect(await claimFiring(redis, prefix, 'deliver', 'crm', 1_000)).toBe(true);
    // Remembered for a day, not for ever.
    const ttl = await redis.pttl(`${prefix}:firing:sync:crm:1000`);
    expect(ttl).toBeGreaterThan(23 * 3600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3600_000);
  });

  it('a tick job handled twice (taken back as stalled, or made again by a second scheduler) queues nothing the second time', async () => {
    const lines: string[] = [];
    const logger: Logger = { debug() {}, info: (m) => void lines.push(m), warn: (m) => void lines.push(m), error: (m) => void lines.push(m) };
    const deps = { logger, work: queues.work, redis, prefix } as unknown as ProcessorDeps;
    const slot = Date.UTC(2026, 11, 1, 15, 15, 0);
    const job = { id: `repeat:sync:web:${slot}`, data: { kind: 'sync', name: 'web' }, timestamp: slot - 1000, opts: {} } as unknown as Job<TickJob>;
    expect(await processTick(deps, job)).toEqual({ added: true });
    // The queued sync is done and gone before the duplicate arrives: the queue's deduplication no longer blocks it.
    await queues.work.obliterate({ force: true });
    expect(await processTick(deps, { ...job } as Job<TickJob>)).toEqual({ added: false });
    expect(await queues.work.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 });
    expect(lines.filter((l) => l.startsWith('tick sync web at 2026-12-01T15:15:00.000Z'))).toHaveLength(1);
    expect(lines).toContain(`sync web: the firing of 2026-12-01T15:15:00.000Z was handled already (job repeat:sync:web:${slot}); ignored`);
  });
});
