import type { Queue } from 'bullmq';
import type { TributaryConfig } from '../config/schema.js';
import type { Logger } from '../plugin/types.js';
import { workKey, type TickJob, type WorkKind } from './jobs.js';

/** Every schedule of a config: sources with `schedule:`, destinations with `trigger: { schedule }`. */
export function schedulesOf(config: Pick<TributaryConfig, 'sources' | 'destinations'>): Array<{ kind: WorkKind; name: string; pattern: string }> {
  const out: Array<{ kind: WorkKind; name: string; pattern: string }> = [];
  for (const s of config.sources) if (s.schedule) out.push({ kind: 'sync', name: s.name, pattern: s.schedule });
  for (const d of config.destinations) if (typeof d.trigger === 'object') out.push({ kind: 'deliver', name: d.name, pattern: d.trigger.schedule });
  return out;
}

/**
 * One BullMQ job scheduler per schedule, id `sync:<source>` or `deliver:<destination>`.
 * Upserting is idempotent, so every `tributary run` of a deployment may do it at
 * start: the scheduler makes exactly one tick job per firing, whoever upserted it.
 * Returns the ids it upserted.
 */
export async function upsertSchedulers(ticks: Queue<TickJob>, config: Pick<TributaryConfig, 'sources' | 'destinations'>, logger: Logger): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const s of schedulesOf(config)) {
    const id = workKey(s.kind, s.name);
    ids.add(id);
    const first = await ticks.upsertJobScheduler(
      id,
      { pattern: s.pattern },
      { name: 'tick', data: { kind: s.kind, name: s.name }, opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
    );
    // The first tick's id ends with its slot (`repeat:<id>:<ms>`).
    const slot = Number(String(first?.id ?? '').split(':').pop());
    const next = Number.isFinite(slot) && slot > 0 ? new Date(slot).toISOString() : undefined;
    logger.info(`scheduled ${s.kind === 'sync' ? 'sync' : 'destination'} ${s.name} on the queue`, { cron: s.pattern, next });
  }
  return ids;
}

/** Schedulers of this prefix that the config no longer has (a source renamed or unscheduled) are removed. */
export async function removeStaleSchedulers(ticks: Queue<TickJob>, keep: Set<string>, logger: Logger): Promise<string[]> {
  const removed: string[] = [];
  for (const s of await ticks.getJobSchedulers(0, -1)) {
    const id = s.key;
    if (keep.has(id)) continue;
    await ticks.removeJobScheduler(id);
    removed.push(id);
    logger.info(`removed the schedule ${id}: the config no longer has it`);
  }
  return removed;
}
