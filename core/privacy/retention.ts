import type { TributaryConfig } from '../config/schema.js';
import type { ProfileStore } from '../store/types.js';
import { parseRetentionDuration } from './retention-config.js';

export interface RetentionTarget {
  source: string;
  stream: string;
  /** Track records observed before this (ISO) are expired. */
  before: string;
  /** The YAML setting, for reports (`400d`). */
  keep: string;
}

export interface RetentionOutcome extends RetentionTarget {
  /** Records expired now (or, in a dry run, that would be). */
  expired: number;
}

/** Which track streams have a retention, and their cut-off now. A stream's setting wins over its source's. */
export function retentionTargets(config: Pick<TributaryConfig, 'sources'>, now: Date, sourceName?: string): RetentionTarget[] {
  const out: RetentionTarget[] = [];
  for (const s of config.sources) {
    if (sourceName && s.name !== sourceName) continue;
    for (const st of s.streams) {
      if (st.kind !== 'track') continue;
      const keep = st.retention?.trackRecords ?? s.retention?.trackRecords;
      const ms = keep ? parseRetentionDuration(keep) : undefined;
      if (!keep || ms === undefined) continue;
      out.push({ source: s.name, stream: st.name, keep, before: new Date(now.getTime() - ms).toISOString() });
    }
  }
  return out;
}

/**
 * Expire the track records past their retention: each is reduced to what its
 * profile is built from (see expiredRecord in core/store/sqlite-forget.ts), so
 * the computed traits keep their contribution even when a profile is recomputed
 * from its stored records (a re-read record, `resolve --rebuild`); the event's
 * other properties, the raw values and field warnings are deleted. Records an
 * events destination has not sent yet are left until it has (its cursor).
 * `dryRun` counts without changing anything.
 */
export async function runRetention(
  store: ProfileStore,
  targets: RetentionTarget[],
  opts: { eventDestinations: string[]; computed?: TributaryConfig['resolution']['computed']; dryRun?: boolean },
): Promise<RetentionOutcome[]> {
  if (!targets.length) return [];
  let sentUpTo = Number.MAX_SAFE_INTEGER;
  for (const d of opts.eventDestinations) sentUpTo = Math.min(sentUpTo, (await store.delivery.status(d)).eventSeq);
  // Event properties computed traits read (`revenue` is the event's own field, always kept).
  const keepProperties = [...new Set(Object.values(opts.computed ?? {}).flatMap((d) => (d.property && d.property !== 'revenue' ? [d.property] : [])))];
  const out: RetentionOutcome[] = [];
  for (const t of targets) {
    const expired = await store.privacy.expireTrackRecords({ source: t.source, stream: t.stream, before: t.before, maxSeq: sentUpTo, keepProperties, dryRun: !!opts.dryRun });
    out.push({ ...t, expired });
  }
  return out;
}

/** Destinations that send track events: retention keeps what they have not sent yet. */
export function eventDestinations(config: Pick<TributaryConfig, 'destinations'>): string[] {
  return config.destinations.filter((d) => d.events).map((d) => d.name);
}
