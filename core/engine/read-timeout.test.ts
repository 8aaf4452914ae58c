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
