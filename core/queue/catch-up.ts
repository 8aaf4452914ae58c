import { getNextMillis, type Queue } from 'bullmq';
import type { QueueConfig } from '../config/schema.js';
import type { Logger } from '../plugin/types.js';
import { enqueueWork, type WorkJob, type WorkKind } from './jobs.js';
import { claimFiring, type FiringStore } from './processor.js';

export type CatchUpPolicy = QueueConfig['catchUp'];

/** The Redis commands the firing record needs (an ioredis client has them). */
export interface SlotStore extends FiringStore {
  get(key: string): Promise<string | null>;
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
}

/** Where the last handled firing (its slot, ms) of one schedule is kept. */
export function lastFiredKey(prefix: string, kind: WorkKind, name: string): string {
  return `${prefix}:last-fired:${kind}:${name}`;
}

/** Keep the later of the stored slot and ARGV[1]; a late, older tick never moves it back. */
const KEEP_MAX = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1]) end
return cur
`;

export async function recordFired(redis: SlotStore, prefix: string, kind: WorkKind, name: string, slotMs: number): Promise<void> {
  await redis.eval(KEEP_MAX, 1, lastFiredKey(prefix, kind, name), slotMs);
}

export async function lastFired(redis: SlotStore, prefix: string, kind: WorkKind, name: string): Promise<number | undefined> {
  const v = await redis.get(lastFiredKey(prefix, kind, name));
  return v === null ? undefined : Number(v);
}

/** Longest look back for a previous firing (a yearly cron still has one). */
const LOOK_BACK_MS = 400 * 86_400_000;

/**
 * The latest slot of `pattern` at or before `now` (ms), computed with the same
 * cron reading BullMQ's job schedulers use, so both agree on slot times.
 * Looks back over a doubling span until a slot is in it, then walks forward.
 */
export function previousSlot(pattern: string, now: number): number | undefined {
  for (let span = 1000; span <= LOOK_BACK_MS; span *= 2) {
    let t = getNextMillis(now - span, { pattern });
    if (t === undefined) return undefined;
    if (t > now) continue;
    for (;;) {
      const n = getNextMillis(t, { pattern });
      if (n === undefined || n <= t || n > now) return t;
      t = n;
    }
  }
  return undefined;
}

export interface CatchUpDeps {
  redis: SlotStore;
  prefix: string;
  work: Queue<WorkJob>;
  logger: Logger;
  policy: CatchUpPolicy;
  now?: () => number;
}

export interface CatchUpResult {
  kind: WorkKind;
  name: string;
  /** `first`: nothing recorded yet (a new schedule or deployment), `on time`, `missed`. */
  state: 'first' | 'on time' | 'missed';
  /** The slot a missed schedule was run for (policy `once`, and this process claimed it). */
  ranFor?: number;
}

/**
 * On start of a scheduler (`tributary run`): BullMQ's job schedulers do not
 * replay firings they missed, so compare each schedule's last handled firing
 * (kept in Redis by every tick) with the cron's previous slot. A schedule that
 * missed one or more firings runs once (`once`), claimed as the firing of that
 * previous slot, so two schedulers starting together, or the tick of that slot
 * arriving late, still run it once. A schedule seen for the first time only
 * records the slot: there is nothing to catch up yet.
 */
export async function catchUp(deps: CatchUpDeps, schedules: Array<{ kind: WorkKind; name: string; pattern: string }>): Promise<CatchUpResult[]> {
  const now = (deps.now ?? Date.now)();
  const out: CatchUpResult[] = [];
  for (const s of schedules) {
    const prev = previousSlot(s.pattern, now);
    if (prev === undefined) continue;
    const last = await lastFired(deps.redis, deps.prefix, s.kind, s.name);
    const what = `${s.kind === 'sync' ? 'sync' : 'destination'} ${s.name}`;
    if (last === undefined || last >= prev) {
      await recordFired(deps.redis, deps.prefix, s.kind, s.name, prev);
      out.push({ kind: s.kind, name: s.name, state: last === undefined ? 'first' : 'on time' });
      continue;
    }
    const since = `last firing handled ${new Date(last).toISOString()}, missed up to ${new Date(prev).toISOString()}`;
    if (deps.policy === 'none') {
      deps.logger.info(`catch-up: ${what} missed its schedule (${since}); not run (queue.catchUp: none), next at its next firing`);
      await recordFired(deps.redis, deps.prefix, s.kind, s.name, prev);
      out.push({ kind: s.kind, name: s.name, state: 'missed' });
      continue;
    }
    const mine = await claimFiring(deps.redis, deps.prefix, s.kind, s.name, prev);
    await recordFired(deps.redis, deps.prefix, s.kind, s.name, prev);
    if (!mine) {
      out.push({ kind: s.kind, name: s.name, state: 'missed' });
      continue;
    }
    const { added, jobId } = await enqueueWork(deps.work, { kind: s.kind, name: s.name, reason: 'catch-up' }, prev);
    deps.logger.info(`catch-up: ${what} missed its schedule (${since}); ${added ? `run once now (${jobId})` : 'already queued or running'}`);
    out.push({ kind: s.kind, name: s.name, state: 'missed', ranFor: prev });
  }
  return out;
}

/**
 * Whether a tick should be handled: not when a later firing of the same schedule
 * was handled already (a catch-up ran for it), and with `none` not when the tick
 * is late past the schedule's next firing (it was missed while workers were down).
 */
export async function tickIsCurrent(
  deps: { redis: SlotStore; prefix: string; policy: CatchUpPolicy; now?: () => number },
  tick: { kind: WorkKind; name: string; slotMs: number; pattern?: string },
): Promise<{ current: true } | { current: false; why: string }> {
  const last = await lastFired(deps.redis, deps.prefix, tick.kind, tick.name);
  if (last !== undefined && tick.slotMs < last) return { current: false, why: `a later firing (${new Date(last).toISOString()}) was handled already` };
  if (deps.policy === 'none' && tick.pattern) {
    const prev = previousSlot(tick.pattern, (deps.now ?? Date.now)());
    if (prev !== undefined && prev > tick.slotMs) {
      await recordFired(deps.redis, deps.prefix, tick.kind, tick.name, prev);
      return { current: false, why: `it is late past the firing of ${new Date(prev).toISOString()} (missed while no worker ran; queue.catchUp: none)` };
    }
  }
  return { current: true };
}
