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

/** Saved windows: per budget window, the recent request times (ms, ascending; grouped by second for long windows). */
export type BucketLevels = Record<string, { times: number[] }>;

/**
 * A sliding-window log: at most `limit` requests in any `windowMs`. A token
 * bucket would let a full bucket plus its refill through in the first window
 * (19 requests in the first second of a 10/s budget), which is exactly what a
 * vendor counting per window answers with 429s.
 */
export class Window {
  private readonly times: Float64Array;
  private head = 0;
  private size = 0;
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    this.times = new Float64Array(Math.max(1, Math.ceil(limit)));
  }

  private expire(now: number): void {
    while (this.size && this.times[this.head] <= now - this.windowMs) {
      this.head = (this.head + 1) % this.times.length;
      this.size--;
    }
  }

  /** Milliseconds until one more request fits (0 when it does now). */
  waitFor(now: number): number {
    this.expire(now);
    if (this.size < this.times.length) return 0;
    return Math.max(1, this.times[this.head] + this.windowMs - now);
  }

  record(now: number): void {
    this.expire(now);
    if (this.size === this.times.length) {
      this.head = (this.head + 1) % this.times.length;
      this.size--;
    }
    this.times[(this.head + this.size) % this.times.length] = now;
    this.size++;
  }

  list(now: number): number[] {
    this.expire(now);
    const out: number[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.times[(this.head + i) % this.times.length]);
    return out;
  }
}

/**
 * Requests reach the vendor a little after they leave here, with jitter: a window
 * exactly the vendor's length lets an 11th request of a 10/s budget land inside
 * the vendor's second (seen: 22 429s in 300 requests). 50 ms more per window
 * costs under 5% of a per-second budget and nothing measurable of longer ones.
 */
export const WINDOW_SLACK_MS = 50;

export const WINDOWS: Array<[keyof RateBudget, number]> = [
  ['perSecond', 1000],
  ['perMinute', 60_000],
  ['perHour', 3_600_000],
];

/** The gate of one delivery run: a RateGate the run also asks how long it waited and what to save at its end. */
export interface DeliveryGate extends RateGate {
  /** Total time spent waiting for room, for the run summary. */
  readonly waitedMs: number;
  /** Recent request times to save with the run (the next run in this mode starts from them). */
  levels(): BucketLevels;
}

/**
 * Makes the gate of one delivery run. Implement it when the budget must hold
 * beyond one process: distributed mode gives one backed by Redis
 * (core/delivery/rate-limit-redis.ts), so every worker counts against the same
 * windows. Without one, the run uses the in-memory `RateLimiter`.
 *
 * @example
 *   const gates: RateGateFactory = (o) => new RateLimiter(o.budgets, o.clock, o.signal, o.levels);
 */
export type RateGateFactory = (opts: { destination: string; budgets: Record<string, RateBudget>; clock: DeliveryClock; signal?: AbortSignal; levels?: BucketLevels }) => DeliveryGate;

/**
 * The rate gate of one destination: named budgets, each a set of windows that
 * must all have room. Requests wait in arrival order (one queue per budget),
 * so concurrent writers cannot starve each other or burst past the limit.
 */
export class RateLimiter implements DeliveryGate {
  private readonly buckets = new Map<string, Array<{ key: string; window: Window }>>();
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
      const list: Array<{ key: string; window: Window }> = [];
      for (const [field, windowMs] of WINDOWS) {
        const limit = budget[field];
        if (limit === undefined) continue;
        const window = new Window(limit, windowMs + WINDOW_SLACK_MS);
        const key = `${name}.${field}`;
        // Times saved by an earlier run (never from the future) still count against this window.
        for (const t of levels[key]?.times ?? []) if (t <= now) window.record(t);
        list.push({ key, window });
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
      if (list) for (const { window } of list) wait = Math.max(wait, window.waitFor(now));
      if (wait === 0) {
        if (list) for (const { window } of list) window.record(now);
        if (--tokens <= 0) return;
        continue;
      }
      this.waitedMs += wait;
      await this.clock.sleep(wait, this.signal);
    }
  }

  /** Recent request times to save at the end of a run; long windows are kept to the second (rounded up: conservative). */
  levels(): BucketLevels {
    const out: BucketLevels = {};
    const now = this.clock.now();
    for (const list of this.buckets.values()) {
      for (const { key, window } of list) {
        const times = window.list(now);
        out[key] = { times: window.windowMs > 60_000 ? times.map((t) => Math.ceil(t / 1000) * 1000) : times };
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
