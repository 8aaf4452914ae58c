import type { RateBudget, RateGate } from '../plugin/types.js';

/** Time as the delivery engine sees it: real in production, fake in tests. */
export interface DeliveryClock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: DeliveryClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (ms <= 0 || signal?.aborted) return resolve();
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** Saved bucket levels, so an hourly budget holds across short-lived processes. */
export type BucketLevels = Record<string, { tokens: number; at: number }>;

/**
 * One token bucket per window: `capacity` tokens refilled evenly over `windowMs`.
 * A per-second budget of 10 allows a burst of 10 and then one request every 100 ms;
 * a per-hour budget of 36,000 allows the same rate but only 36,000 in any hour.
 */
class Bucket {
  tokens: number;
  at: number;
  constructor(
    readonly capacity: number,
    readonly windowMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.at = now;
  }

  refill(now: number): void {
    if (now <= this.at) return;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) * this.capacity) / this.windowMs);
    this.at = now;
  }

  /** Milliseconds until `n` tokens are there (0 when they are now). */
  waitFor(n: number, now: number): number {
    this.refill(now);
    if (this.tokens >= n) return 0;
    return Math.ceil(((n - this.tokens) * this.windowMs) / this.capacity);
  }
}

const WINDOWS: Array<[keyof RateBudget, number]> = [
  ['perSecond', 1000],
  ['perMinute', 60_000],
  ['perHour', 3_600_000],
];

/**
 * The rate gate of one destination: named budgets, each a set of buckets that
 * must all have a token. Requests wait in arrival order (one queue per budget),
 * so concurrent writers cannot starve each other or burst past the limit.
 */
export class RateLimiter implements RateGate {
  private readonly buckets = new Map<string, Array<{ key: string; bucket: Bucket }>>();
  private readonly pausedUntil = new Map<string, number>();
  private readonly queues = new Map<string, Promise<void>>();
  /** Total time spent waiting for tokens, for the run summary. */
  waitedMs = 0;

  constructor(
    budgets: Record<string, RateBudget>,
    private readonly clock: DeliveryClock,
    private readonly signal?: AbortSignal,
    levels: BucketLevels = {},
  ) {
    const now = clock.now();
    for (const [name, budget] of Object.entries(budgets)) {
      const list: Array<{ key: string; bucket: Bucket }> = [];
      for (const [field, windowMs] of WINDOWS) {
        const capacity = budget[field];
        if (capacity === undefined) continue;
        const bucket = new Bucket(capacity, windowMs, now);
        const key = `${name}.${field}`;
        const saved = levels[key];
        // A saved level is only trusted from the past: refill it up to now.
        if (saved && saved.at <= now) {
          bucket.tokens = Math.min(capacity, saved.tokens);
          bucket.at = saved.at;
          bucket.refill(now);
        }
        list.push({ key, bucket });
      }
      if (list.length) this.buckets.set(name, list);
    }
  }

  take(budget = 'default', tokens = 1): Promise<void> {
    // Chain on the previous waiter of the same budget: first come, first served.
    const prev = this.queues.get(budget) ?? Promise.resolve();
    const mine = prev.then(() => this.acquire(budget, tokens));
    this.queues.set(budget, mine.catch(() => undefined));
    return mine;
  }

  pause(ms: number, budget?: string): void {
    const until = this.clock.now() + Math.max(0, ms);
    const names = budget ? [budget] : [...new Set([...this.buckets.keys(), 'default'])];
    for (const n of names) this.pausedUntil.set(n, Math.max(this.pausedUntil.get(n) ?? 0, until));
  }

  private async acquire(budget: string, tokens: number): Promise<void> {
    const list = this.buckets.get(budget);
    for (;;) {
      if (this.signal?.aborted) return;
      const now = this.clock.now();
      let wait = Math.max(0, (this.pausedUntil.get(budget) ?? 0) - now);
      if (list) for (const { bucket } of list) wait = Math.max(wait, bucket.waitFor(Math.min(tokens, bucket.capacity), now));
      if (wait === 0) {
        if (list) for (const { bucket } of list) bucket.tokens -= Math.min(tokens, bucket.capacity);
        return;
      }
      this.waitedMs += wait;
      await this.clock.sleep(wait, this.signal);
    }
  }

  /** Bucket levels to save at the end of a run. */
  levels(): BucketLevels {
    const out: BucketLevels = {};
    const now = this.clock.now();
    for (const list of this.buckets.values()) {
      for (const { key, bucket } of list) {
        bucket.refill(now);
        out[key] = { tokens: bucket.tokens, at: bucket.at };
      }
    }
    return out;
  }
}

/** A gate that never waits: tests of a connector on its own, and snapshot destinations without budgets. */
export const unlimitedGate: RateGate = {
  take: async () => undefined,
  pause: () => undefined,
};
