import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionError } from '../errors.js';
import { withReadIdleTimeout } from './read-timeout.js';

// Fake timers: the idle deadline is driven by advancing the clock, not by waiting.
afterEach(() => vi.useRealTimers());

const idleError = () => new ConnectionError('idle', {}, { retryable: false });

async function* yieldsThenHangs(n: number, log: string[]) {
  try {
    for (let i = 1; i <= n; i++) yield i;
    await new Promise(() => undefined);
  } finally {
    log.push('cleanup');
  }
}

describe('withReadIdleTimeout', () => {
  it('does not count the time the consumer spends between items, only the wait for the connector', async () => {
    vi.useFakeTimers();
    const got: number[] = [];
    const ac = new AbortController();
    const consume = (async () => {
      for await (const v of withReadIdleTimeout(yieldsThenHangs(3, []), 100, ac, idleError)) {
        got.push(v);
        // A slow commit between two yields: ten times the idle deadline.
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const settled = consume.then(
      () => 'done',
      (e: Error) => e.message,
    );
    await vi.advanceTimersByTimeAsync(3 * 1000 + 50);
    expect(got).toEqual([1, 2, 3]);
    expect(ac.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(await settled).toBe('idle');
    expect(ac.signal.aborted).toBe(true);
    expect(ac.signal.reason).toBeInstanceOf(ConnectionError);
  });

  it('lets a connector clean up when the consumer stops early', async () => {
    const log: string[] = [];
    for await (const v of withReadIdleTimeout(yieldsThenHangs(5, log), 100, new AbortController(), idleError)) if (v === 2) break;
    expect(log).toEqual(['cleanup']);
  });
});

describe('withReadIdleTimeout: the deadline starts again at every wait', () => {
  it('a connector that is slow for each item, but always inside the deadline, never times out', async () => {
    vi.useFakeTimers();
    async function* slow() {
      for (let i = 1; i <= 10; i++) {
        await new Promise((r) => setTimeout(r, 80));
        yield i;
      }
    }
    const got: number[] = [];
    const ac = new AbortController();
    const consume = (async () => {
      for await (const v of withReadIdleTimeout(slow(), 100, ac, idleError)) got.push(v);
    })().then(
      () => 'done',
      (e: Error) => e.message,
    );
    await vi.advanceTimersByTimeAsync(10 * 80 + 50);
    expect(await consume).toBe('done');
    expect(got).toHaveLength(10);
    expect(ac.signal.aborted).toBe(false);
  });
});
