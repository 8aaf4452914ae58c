import { afterEach, describe, expect, it } from 'vitest';
import { customers, deliveryConfig, startDelivery } from './__fixtures__/harness.js';
import { fakeClock, recordingDestination } from './__fixtures__/recording-destination.js';
import { DeliveryIncompleteError } from './deliver.js';

type Started = Awaited<ReturnType<typeof startDelivery>>;
const opened: Started[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

async function setup(n: number, dest = recordingDestination(), destConfig: Record<string, unknown> = {}, clock = fakeClock()) {
  const { file } = deliveryConfig({ customers: customers(n) }, destConfig);
  const s = await startDelivery(file, dest, clock);
  opened.push(s);
  const out = await s.engine.runSync('crm', { deliverAfter: false });
  expect(out.ok, out.error).toBe(true);
  return s;
}

const retryable = (retryAfterMs?: number) => ({ status: 'retryable' as const, reason: 'HTTP 503', ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });

describe('delivery: retries and backoff', () => {
  it('waits exponentially with jitter between attempts (initial 100 ms, then 200 ms)', async () => {
    const s = await setup(1);
    s.dest.script.push(retryable(), retryable());
    const c = await s.engine.deliverTo('out');
    expect(c).toMatchObject({ delivered: 1, retried: 2, requests: 3 });
    const backoff = s.clock.sleeps.filter((ms) => ms >= 50);
    expect(backoff).toHaveLength(2);
    // Full jitter over the upper half: attempt 0 waits 50..100 ms, attempt 1 waits 100..200 ms.
    expect(backoff[0]).toBeGreaterThanOrEqual(50);
    expect(backoff[0]).toBeLessThanOrEqual(100);
    expect(backoff[1]).toBeGreaterThanOrEqual(100);
    expect(backoff[1]).toBeLessThanOrEqual(200);
  });

  it("honours the server's wait (Retry-After) and clamps it to maxDelayMs", async () => {
    const s = await setup(1);
    s.dest.script.push(retryable(1500), retryable(3_600_000));
    await s.engine.deliverTo('out');
    expect(s.clock.sleeps.filter((ms) => ms >= 1000)).toEqual([1500, 5000]);
  });

  it('never retries a permanent failure: it is dead-lettered with payload and reason, the rest goes on', async () => {
    const s = await setup(3);
    let bad = '';
    s.dest.script.push((item) => {
      if (!bad) bad = item.key;
      return item.key === bad ? { status: 'permanent', reason: 'invalid_parameter: email is invalid' } : { status: 'ok' };
    });
    const c = await s.engine.deliverTo('out');
    expect(c).toMatchObject({ delivered: 2, failed: 1, retried: 0, requests: 1 });
    const dl = await s.store.listDeadLetters({ limit: 10, sync: 'out' });
    expect(dl).toEqual([expect.objectContaining({ stream: 'profiles', recordId: bad, reason: 'invalid_parameter: email is invalid' })]);
    expect((dl[0].payload as { profile: { id: string } }).profile.id).toBe(bad);
    expect(await s.store.delivery.backlog('out')).toBe(0);
    // Re-queued, it goes out on the next delivery.
    expect(await s.store.delivery.requeueDeadLetters('out')).toBe(1);
    expect(await s.store.listDeadLetters({ limit: 10, sync: 'out' })).toEqual([]);
    const again = await s.engine.deliverTo('out');
    expect(again).toMatchObject({ delivered: 1 });
    expect(s.dest.held.size).toBe(3);
  });

  it('items still failing after the last attempt stay queued, unacknowledged, until deadLetterAfter is past', async () => {
    const s = await setup(2, recordingDestination(), { retry: { attempts: 2, initialDelayMs: 10, deadLetterAfter: { runs: 2, minutes: 60 } } });
    const failAll = () => s.dest.script.push(retryable(), retryable());
    failAll();
    await expect(s.engine.deliverTo('out')).rejects.toBeInstanceOf(DeliveryIncompleteError);
    expect(await s.store.delivery.backlog('out')).toBe(2);
    expect(s.dest.held.size).toBe(0);
    // Second failing run, but within the hour: still queued.
    failAll();
    const err = await s.engine.deliverTo('out').catch((e: DeliveryIncompleteError) => e);
    expect(err).toBeInstanceOf(DeliveryIncompleteError);
    expect((err as DeliveryIncompleteError).counts).toMatchObject({ pending: 2, failed: 0 });
    expect(await s.store.listDeadLetters({ limit: 10, sync: 'out' })).toEqual([]);
    // Third failing run after the hour: both past runs and minutes, so dead-lettered and acknowledged.
    s.clock.advance(61 * 60_000);
    failAll();
    const c = await s.engine.deliverTo('out');
    expect(c).toMatchObject({ failed: 2, pending: 0 });
    expect(await s.store.delivery.backlog('out')).toBe(0);
    const dl = await s.store.listDeadLetters({ limit: 10, sync: 'out' });
    expect(dl.map((d) => d.reason)).toEqual([expect.stringMatching(/^still failing after 3 runs since .*HTTP 503/), expect.stringMatching(/^still failing after 3 runs/)]);
  });

  it('a rejected credential stops the run after one request: no retries, nothing acknowledged', async () => {
    const s = await setup(3);
    s.dest.script.push('unauthorized');
    await expect(s.engine.deliverTo('out')).rejects.toThrow(/api key rejected \(401\)/);
    expect(s.dest.calls).toHaveLength(1);
    expect(s.clock.sleeps.filter((ms) => ms >= 50)).toEqual([]);
    expect(await s.store.delivery.backlog('out')).toBe(3);
    const runs = await s.store.recentRuns(1);
    expect(runs[0]).toMatchObject({ kind: 'deliver', status: 'failed', error: expect.stringMatching(/401/) });
  });

  it('a connector that throws is retried like a dropped connection', async () => {
    const s = await setup(1);
    s.dest.script.push('throw');
    expect(await s.engine.deliverTo('out')).toMatchObject({ delivered: 1, retried: 1 });
  });

  it('an endpoint that is gone disables the destination until it is enabled again', async () => {
    const s = await setup(2);
    s.dest.script.push('gone');
    await expect(s.engine.deliverTo('out')).rejects.toThrow(/410 Gone/);
    await expect(s.engine.deliverTo('out')).rejects.toThrow(/destination out is disabled .*tributary deliver out --enable/);
    expect(s.dest.calls).toHaveLength(1);
    await s.store.delivery.setDisabled('out', undefined);
    expect(await s.engine.deliverTo('out')).toMatchObject({ delivered: 2 });
  });
});

describe('delivery: batches, sizes and the rate budget', () => {
  it('packs batches by count and by bytes; an item over the per-item limit is dead-lettered, the rest go', async () => {
    const dest = recordingDestination({ maxBatchBytes: 2000, maxItemBytes: 1500 });
    const s = await setup(9, dest, { batchSize: 4, mapping: { FIRSTNAME: 'traits.firstName', BIO: 'traits.country' } });
    const c = await s.engine.deliverTo('out');
    expect(c.delivered).toBe(9);
    expect(dest.calls.map((b) => b.length)).toEqual([4, 4, 1]);
    // Bytes: a profile document is ~600 bytes; without a mapping three fit in 2000 bytes.
    const s2 = await setup(7, recordingDestination({ maxBatchBytes: 2000, maxItemBytes: 100_000 }), { batchSize: 50 });
    await s2.engine.deliverTo('out');
    for (const b of s2.dest.calls) expect(b.reduce((a, i) => a + JSON.stringify(i.profile).length, 0)).toBeLessThanOrEqual(2000);
    expect(s2.dest.calls.flat()).toHaveLength(7);
    const s3 = await setup(3, recordingDestination({ maxItemBytes: 200 }));
    const c3 = await s3.engine.deliverTo('out');
    expect(c3).toMatchObject({ delivered: 0, failed: 3 });
    const dl = await s3.store.listDeadLetters({ limit: 5, sync: 'out' });
    expect(dl[0].reason).toMatch(/^payload is \d+ bytes; recording accepts at most 200 per item$/);
  });

  it('waits for the rate budget before each request: 12 requests at 5/s take at least 1.4 s', async () => {
    const s = await setup(12, recordingDestination(), { batchSize: 1 });
    const t0 = s.clock.now().getTime();
    const c = await s.engine.deliverTo('out');
    expect(c.requests).toBe(12);
    expect(s.dest.takes).toBe(12);
    // A burst of 5, then one every 200 ms.
    expect(s.clock.now().getTime() - t0).toBeGreaterThanOrEqual(1400);
    expect(c.throttledMs).toBeGreaterThanOrEqual(1400);
  });

  it('the budget holds across runs: the window is saved with the run and the next run waits for it', async () => {
    const s = await setup(5, recordingDestination(), { batchSize: 1 });
    await s.engine.deliverTo('out');
    const st = await s.store.delivery.status('out');
    expect(st.rateLevels!['default.perSecond'].times).toHaveLength(5);
    await s.engine.deliverTo('out', undefined, { full: true, resend: true });
    // The second run's first request waits for the first run's window to pass.
    expect(s.clock.sleeps.some((ms) => ms > 0)).toBe(true);
  });
});

describe('delivery: events', () => {
  it('sends each track event once, in store order, with its profile', async () => {
    const { file } = deliveryConfig(
      {
        customers: customers(2),
        orders: [
          { id: 'o1', email: 'user1@shop.io', total: '19.90', updated_at: '2026-01-03T00:00:00Z' },
          { id: 'o2', email: 'user2@shop.io', total: '5', updated_at: '2026-01-04T00:00:00Z' },
        ],
      },
      { events: true },
    );
    const s = await startDelivery(file);
    opened.push(s);
    await s.engine.runSync('crm', { deliverAfter: false });
    const c = await s.engine.deliverTo('out');
    expect(c.delivered).toBe(4);
    expect(s.dest.events.map((e) => [e.key, e.event!.name, e.event!.revenue])).toEqual([
      ['crm/orders/o1', 'order_completed', 19.9],
      ['crm/orders/o2', 'order_completed', 5],
    ]);
    expect(s.dest.events[0].profile!.traits.email).toBe('user1@shop.io');
    expect(await s.engine.deliverTo('out')).toMatchObject({ delivered: 0, requests: 0 });
  });
});

describe('delivery: one at a time', () => {
  it('refuses a second delivery of the same destination while one runs', async () => {
    const s = await setup(2);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const write = s.dest.connector.write.bind(s.dest.connector);
    (s.dest.connector as { write: typeof write }).write = async (ctx, batch) => {
      await gate;
      return write(ctx, batch);
    };
    const first = s.engine.deliverTo('out');
    await new Promise((r) => setTimeout(r, 20));
    await expect(s.engine.deliverTo('out')).rejects.toThrow(/already being delivered/);
    // Another process on the same store sees the lease.
    expect(await s.store.delivery.acquireLease('deliver:out', 'someone-else', 60_000)).toEqual({ holder: expect.stringContaining(`pid ${process.pid}`) });
    release();
    expect((await first).delivered).toBe(2);
    expect(await s.store.delivery.acquireLease('deliver:out', 'someone-else', 60_000)).toBeUndefined();
  });
});
