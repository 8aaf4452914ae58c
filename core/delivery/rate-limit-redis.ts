import { randomUUID } from 'node:crypto';
import type { RateBudget } from '../plugin/types.js';
import { WINDOW_SLACK_MS, WINDOWS, Window, type BucketLevels, type DeliveryClock, type DeliveryGate, type RateGateFactory } from './rate-limit.js';

/** The Redis commands the shared gate needs (an ioredis client has them). */
export interface RateRedis {
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

/**
 * One request against every window of a budget, atomically, on the server's clock
 * (workers on several machines agree on it even when their own clocks drift).
 *
 * KEYS[1] is the budget's pause key, KEYS[2..] one sorted set per window (member:
 * a request, score: its time in ms). ARGV[1] names the request; ARGV[2j], ARGV[2j+1]
 * are window j's limit and length in ms. Returns {0, wait} when some window is
 * full or the budget is paused, else {1, now} after recording the request in all of them.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused > now then wait = paused - now end
for i = 2, #KEYS do
  local limit = tonumber(ARGV[2 * i - 2])
  local win = tonumber(ARGV[2 * i - 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - win)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + win - now
    if w < 1 then w = 1 end
    if w > wait then wait = w end
  end
end
if wait > 0 then return {0, wait} end
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i - 1]))
end
return {1, now}
`;

/** Hold a budget until the server's now + ARGV[1] ms, unless it is held longer already. */
const PAUSE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > cur then redis.call('SET', KEYS[1], untilMs, 'PX', tonumber(ARGV[1])) end
return untilMs
`;

/** Longest single sleep before asking Redis again (another worker's pause may have ended, a window may have emptied). */
const MAX_SLEEP_MS = 1000;

export interface RedisRateOptions {
  redis: RateRedis;
  /** The deployment's queue prefix: the windows' keys live under it. */
  prefix: string;
  destination: string;
  budgets: Record<string, RateBudget>;
  /** Only `sleep` is used: the windows run on the Redis server's clock. */
  clock: DeliveryClock;
  signal?: AbortSignal;
}

/**
 * A destination's rate gate shared by every worker of a deployment: the same
 * sliding-window log as the in-memory `RateLimiter` (same windows, same slack),
 * kept in Redis sorted sets and checked and updated by one Lua script per
 * request, so two workers can never both take the last place in a window.
 * Requests of one process still wait in arrival order per budget.
 */
export class RedisRateLimiter implements DeliveryGate {
  private readonly windows = new Map<string, Array<{ field: string; limit: number; windowMs: number; local: Window }>>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly id = randomUUID().slice(0, 8);
  private seq = 0;
  waitedMs = 0;

  constructor(private readonly opts: RedisRateOptions) {
    for (const [name, budget] of Object.entries(opts.budgets)) {
      const list: Array<{ field: string; limit: number; windowMs: number; local: Window }> = [];
      for (const [field, windowMs] of WINDOWS) {
        const limit = budget[field];
        if (limit === undefined) continue;
        const ms = windowMs + WINDOW_SLACK_MS;
        list.push({ field, limit: Math.max(1, Math.ceil(limit)), windowMs: ms, local: new Window(limit, ms) });
      }
      if (list.length) this.windows.set(name, list);
    }
  }

  /** Keys of one budget; the hash tag keeps them in one slot of a Redis Cluster (a script's keys must be). */
  private key(budget: string, part: string): string {
    return `${this.opts.prefix}:rate:{${this.opts.destination}:${budget}}:${part}`;
  }

  take(budget = 'default', tokens = 1): Promise<void> {
    const prev = this.queues.get(budget) ?? Promise.resolve();
    const mine = prev.then(() => this.acquire(budget, tokens));
    this.queues.set(budget, mine.catch(() => undefined));
    return mine;
  }

  pause(ms: number, budget?: string): void {
    const names = budget ? [budget] : [...new Set([...this.windows.keys(), 'default'])];
    // Sent now on this process's connection, so a take() after it is ordered after it; failures only lose the pause.
    for (const n of names) void this.opts.redis.eval(PAUSE, 1, this.key(n, 'pause'), Math.max(0, Math.ceil(ms))).catch(() => undefined);
  }

  private async acquire(budget: string, tokens: number): Promise<void> {
    const list = this.windows.get(budget) ?? [];
    const keys = [this.key(budget, 'pause'), ...list.map((w) => this.key(budget, w.field))];
    const args = list.flatMap((w) => [w.limit, w.windowMs]);
    while (tokens > 0) {
      if (this.opts.signal?.aborted) return;
      const member = `${this.id}:${++this.seq}`;
      const reply = await untilAborted(this.opts.redis.eval(ACQUIRE, keys.length, ...keys, member, ...args) as Promise<[number, number]>, this.opts.signal);
      if (!reply) return;
      const [ok, n] = reply;
      if (ok === 1) {
        for (const w of list) w.local.record(n);
        tokens--;
        continue;
      }
      const wait = Math.min(n, MAX_SLEEP_MS);
      this.waitedMs += wait;
      await this.opts.clock.sleep(wait, this.opts.signal);
    }
  }

  /** This process's own requests (server time), saved with the run like the in-memory gate's: the next single-process run starts from them. */
  levels(): BucketLevels {
    const out: BucketLevels = {};
    const now = Date.now();
    for (const [name, list] of this.windows) {
      for (const w of list) out[`${name}.${w.field}`] = { times: w.windowMs > 60_000 ? w.local.list(now).map((t) => Math.ceil(t / 1000) * 1000) : w.local.list(now) };
    }
    return out;
  }
}

/** `p`, or undefined once `signal` aborts (a stop while Redis is down must not wait for it). */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  if (!signal) return p;
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The gate factory of distributed mode: every delivery run of every worker shares the windows under `prefix`. */
export function redisRateGates(opts: { redis: RateRedis; prefix: string }): RateGateFactory {
  return (o) => new RedisRateLimiter({ redis: opts.redis, prefix: opts.prefix, destination: o.destination, budgets: o.budgets, clock: o.clock, signal: o.signal });
}
