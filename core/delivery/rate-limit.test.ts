import { describe, expect, it } from 'vitest';
import { RateLimiter, WINDOW_SLACK_MS as S, type DeliveryClock } from './rate-limit.js';

function clock(): DeliveryClock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

describe('rate limiter (token buckets)', () => {
  it('never lets more than the limit through in any window', async () => {
    const c = clock();
    const r = new RateLimiter({ default: { perSecond: 10 } }, c);
    const at: number[] = [];
    for (let i = 0; i < 25; i++) {
      await r.take();
      at.push(c.t);
    }
    expect(at.slice(0, 10)).toEqual(new Array(10).fill(0));
    expect(at[10]).toBe(1000 + S);
    expect(at[24]).toBe(2 * (1000 + S));
    // Never more than 10 in any one-second window, with the slack on top.
    for (let i = 10; i < at.length; i++) expect(at[i] - at[i - 10]).toBeGreaterThanOrEqual(1000 + S);
  });

  it('holds every window: an hourly budget caps a faster per-second one', async () => {
    const c = clock();
    const r = new RateLimiter({ contacts: { perSecond: 100, perHour: 360 } }, c);
    for (let i = 0; i < 361; i++) await r.take('contacts');
    // 360 in the first 4 seconds (100 a second), the 361st waits until the first one is an hour old.
    expect(c.t).toBe(3_600_000 + S);
  });

  it('budgets are independent; an unknown budget is not limited', async () => {
    const c = clock();
    const r = new RateLimiter({ contacts: { perSecond: 1 }, processes: { perHour: 1 } }, c);
    await r.take('contacts');
    await r.take('processes');
    await r.take('other');
    expect(c.t).toBe(0);
    await r.take('contacts');
    expect(c.t).toBe(1000 + S);
  });

  it('pause holds every later take until the reset the server named', async () => {
    const c = clock();
    const r = new RateLimiter({ default: { perSecond: 100 } }, c);
    r.pause(7000);
    await r.take();
    expect(c.t).toBe(7000);
  });

  it('saved windows carry the budget into the next run', async () => {
    const c = clock();
    const a = new RateLimiter({ default: { perHour: 10 } }, c);
    for (let i = 0; i < 10; i++) {
      await a.take();
      c.t += 60_000;
    }
    const levels = a.levels();
    // A new process 10 minutes after the first request: the window is full until the first one is an hour old.
    const b = new RateLimiter({ default: { perHour: 10 } }, c, undefined, levels);
    await b.take();
    expect(c.t).toBe(3_600_000 + S);
    await b.take();
    expect(c.t).toBe(3_660_000 + S);
  });
});
