import { ConnectionError, type ErrorContext } from '../../core/errors.js';
import { RateLimiter, type BucketLevels, type DeliveryClock } from '../../core/delivery/rate-limit.js';
import type { JsonValue, RateGate, StreamState } from '../../core/plugin/types.js';
import type { HttpConfig } from './config.js';

const DAY_MS = 86_400_000;
/** Daily request times are kept to the minute, rounded up (a request counts a little longer: conservative). */
const DAY_BUCKET_MS = 60_000;

/**
 * The request budget as saved in a stream's state (key `budget`): when it was
 * saved, and per window the recent request times as `[time, count]` pairs
 * (times to the second for the hour, to the minute for the day), so an hourly
 * budget of 10,000 costs at most 3,600 pairs and a daily one at most 1,440.
 */
export interface SavedBudget {
  at: number;
  windows: Record<string, Array<[number, number]>>;
}

export const limitStop = (why: string, context: ErrorContext) =>
  new ConnectionError(`stopped by the API's limit: ${why}; committed pages are kept and the next run resumes from them`, context, { retryable: false });

export function budgetText(b: { perSecond?: number; perMinute?: number; perHour?: number; perDay?: number }): string {
  const parts = [b.perSecond && `${b.perSecond}/s`, b.perMinute && `${b.perMinute}/min`, b.perHour && `${b.perHour}/h`, b.perDay && `${b.perDay}/day`].filter(Boolean);
  return parts.join(', ') || 'unlimited';
}

function pairs(times: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const t of times) {
    const last = out[out.length - 1];
    if (last && last[0] === t) last[1]++;
    else out.push([t, 1]);
  }
  return out;
}

function isPairs(v: unknown): v is Array<[number, number]> {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && Number.isFinite(p[0]) && Number.isInteger(p[1]) && p[1] > 0 && p[1] <= 1e7);
}

const counted = (w: SavedBudget['windows']) => Object.values(w).reduce((n, list) => n + list.reduce((m, [, c]) => m + c, 0), 0);

/** The newest budget saved in any stream's state (each holds the whole source's budget when it was saved); anything malformed is ignored. */
export function savedBudget(states: Record<string, StreamState | undefined>): SavedBudget | undefined {
  let best: SavedBudget | undefined;
  for (const s of Object.values(states)) {
    const b = s?.budget as { at?: unknown; windows?: unknown } | undefined;
    if (!b || typeof b.at !== 'number' || !b.windows || typeof b.windows !== 'object' || Array.isArray(b.windows)) continue;
    const windows = Object.fromEntries(Object.entries(b.windows).filter(([, v]) => isPairs(v))) as SavedBudget['windows'];
    // Saved at the same instant (a fast run, a coarse clock): the one that counts more requests is the later one.
    if (!best || b.at > best.at || (b.at === best.at && counted(windows) > counted(best.windows))) best = { at: b.at, windows };
  }
  return best;
}

/**
 * The request budget of one `http` source: per second / minute / hour through
 * the delivery engine's sliding-window RateLimiter, per day as a log of minute
 * buckets here. A wait longer than `maxWaitMs` (a quota used up) ends the run
 * ("stopped by the API's limit") instead of idling. `snapshot()` is saved in
 * every stream state, so the next run, within the hour or the day, starts with
 * the requests this one made still counted.
 */
export class SourceBudget implements RateGate {
  private readonly limiter: RateLimiter;
  private readonly day: Array<[number, number]> = [];
  /** Whether any window outlives a run (minute, hour, day): only then is the budget saved. */
  readonly persistent: boolean;

  constructor(
    private readonly config: HttpConfig,
    private readonly clock: DeliveryClock,
    signal: AbortSignal,
    private readonly context: ErrorContext,
    saved?: SavedBudget,
  ) {
    const { maxWaitMs, perDay, ...budget } = config.rateLimit;
    this.persistent = budget.perMinute !== undefined || budget.perHour !== undefined || perDay !== undefined;
    const gateClock: DeliveryClock = {
      now: () => clock.now(),
      sleep: async (ms, s) => {
        if (ms > maxWaitMs) throw limitStop(`the request budget (${budgetText(config.rateLimit)}) is used up for the next ${Math.ceil(ms / 1000)} s`, context);
        await clock.sleep(ms, s);
      },
    };
    const levels: BucketLevels = {};
    for (const [key, list] of Object.entries(saved?.windows ?? {})) {
      if (key === 'day') continue;
      levels[key] = { times: list.flatMap(([t, n]) => Array<number>(n).fill(t)) };
    }
    this.limiter = new RateLimiter({ default: budget }, gateClock, signal, levels);
    const now = clock.now();
    for (const [t, n] of saved?.windows.day ?? []) if (t - DAY_BUCKET_MS <= now && t > now - DAY_MS) this.day.push([t, n]);
    this.day.sort((a, b) => a[0] - b[0]);
  }

  async take(): Promise<void> {
    const perDay = this.config.rateLimit.perDay;
    if (perDay !== undefined) {
      const now = this.clock.now();
      while (this.day.length && this.day[0][0] <= now - DAY_MS) this.day.shift();
      let used = this.day.reduce((a, [, n]) => a + n, 0);
      // Requests leave the day as their minute ages out; the wait is until enough have.
      let i = 0;
      let wait = 0;
      while (used >= perDay && i < this.day.length) {
        used -= this.day[i][1];
        wait = this.day[i][0] + DAY_MS - now;
        i++;
      }
      if (wait > this.config.rateLimit.maxWaitMs) {
        throw limitStop(`the daily request budget (${perDay}/day) is used up for the next ${Math.ceil(wait / 1000)} s`, this.context);
      }
      if (wait > 0) await this.clock.sleep(wait);
    }
    await this.limiter.take();
    if (perDay !== undefined) {
      const bucket = Math.ceil((this.clock.now() + 1) / DAY_BUCKET_MS) * DAY_BUCKET_MS;
      const last = this.day[this.day.length - 1];
      if (last && last[0] === bucket) last[1]++;
      else this.day.push([bucket, 1]);
    }
  }

  pause(ms: number): void {
    this.limiter.pause(ms);
  }

  /** What a stream state carries under `budget` (JSON). */
  snapshot(): JsonValue {
    const windows: Record<string, JsonValue> = {};
    for (const [key, { times }] of Object.entries(this.limiter.levels())) {
      // Per-second windows are gone before a next run could start; not worth the bytes.
      if (!key.endsWith('.perSecond')) windows[key] = pairs(times);
    }
    if (this.day.length) windows.day = this.day.map(([t, n]) => [t, n]);
    return { at: this.clock.now(), windows };
  }
}
