import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { isAuthError, reconnectDelay, redisAddress, redisSecrets } from './connection.js';
import { workJobOptions, workKey } from './jobs.js';
import { schedulesOf } from './scheduler.js';

describe('queue config', () => {
  it('queue: takes a Redis URL and fills BullMQ-like defaults; a bad prefix or an unknown key is refused', () => {
    const c = configSchema.parse({ queue: { redis: 'redis://127.0.0.1:6379' } });
    expect(c.queue).toEqual({ redis: 'redis://127.0.0.1:6379', prefix: 'tributary', concurrency: 1, lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 1, catchUp: 'once' });
    expect(configSchema.parse({}).queue).toBeUndefined();
    expect(configSchema.safeParse({ queue: { redis: 'redis://x', prefix: 'a:b' } }).success).toBe(false); // `:` separates BullMQ's own key parts
    expect(configSchema.safeParse({ queue: { redis: 'redis://x', concurency: 2 } }).success).toBe(false);
    expect(configSchema.safeParse({ queue: { redis: 'redis://x', concurrency: 0 } }).success).toBe(false);
  });
});

describe('Redis connection helpers', () => {
  it('the logged address never carries the user or the password', () => {
    expect(redisAddress('redis://app:p%40ss@cache.internal:6380/2')).toBe('cache.internal:6380/2');
    expect(redisAddress('redis://:hunter22@10.0.0.5')).toBe('10.0.0.5:6379');
    expect(redisAddress('not a url')).toBe('(unparsable URL)');
  });

  it('the password of the URL is handed to the redactor, decoded and as written', () => {
    expect(redisSecrets('redis://app:p%40ss-word@h:1')).toEqual(['p@ss-word', 'p%40ss-word']);
    expect(redisSecrets('redis://h:1')).toEqual([]);
  });

  it('tells refused credentials (no retry) from a network failure (retry)', () => {
    expect(isAuthError(new Error('WRONGPASS invalid username-password pair or user is disabled.'))).toBe(true);
    expect(isAuthError('NOAUTH Authentication required.')).toBe(true);
    expect(isAuthError(new Error('connect ECONNREFUSED 127.0.0.1:6379'))).toBe(false);
  });

  it('reconnects back off exponentially up to 15 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(reconnectDelay)).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
  });
});

describe('jobs and schedules', () => {
  it('a sync is deduplicated plainly (a tick while it runs is dropped), a delivery keeps one request for after the running one', () => {
    expect(workJobOptions('sync', 'crm').deduplication).toEqual({ id: 'sync:crm' });
    expect(workJobOptions('deliver', 'brevo').deduplication).toEqual({ id: 'deliver:brevo', keepLastIfActive: true });
    // One attempt: a failed sync is recorded in the store and runs again at its next tick, not in a retry loop of its own.
    expect(workJobOptions('sync', 'crm').attempts).toBe(1);
  });

  it('one scheduler per scheduled source and per destination with its own schedule, none for after-sync or manual ones', () => {
    const c = configSchema.parse({
      sources: [
        { name: 'crm', connector: 'csv', schedule: '*/5 * * * *', streams: [{ name: 's', primaryKey: 'id', mapping: {} }] },
        { name: 'once', connector: 'csv', streams: [{ name: 's', primaryKey: 'id', mapping: {} }] },
      ],
      destinations: [
        { name: 'nightly', connector: 'webhook', trigger: { schedule: '0 3 * * *' } },
        { name: 'after', connector: 'webhook' },
        { name: 'byhand', connector: 'webhook', trigger: 'manual' },
      ],
    });
    expect(schedulesOf(c)).toEqual([
      { kind: 'sync', name: 'crm', pattern: '*/5 * * * *' },
      { kind: 'deliver', name: 'nightly', pattern: '0 3 * * *' },
    ]);
    expect(schedulesOf(c).map((s) => workKey(s.kind, s.name))).toEqual(['sync:crm', 'deliver:nightly']);
  });
});
