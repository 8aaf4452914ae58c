import type { TributaryConfig } from '../config/schema.js';
import type { ProfileStore } from '../store/types.js';
import { parseRetentionDuration } from './retention-config.js';

export interface RetentionTarget {
  source: string;
  stream: string;
  /** Track records observed before this (ISO) are deleted. */
  before: string;
  /** The YAML setting, for reports (`400d`). */
  keep: string;
}

export interface RetentionOutcome extends RetentionTarget {
  deleted: number;
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
 * Delete the raw track records past their retention. Their contribution to
 * computed traits stays: those live in each profile's aggregates, which are
 * updated when a record arrives, not recomputed from stored records. Records
 * an events destination has not sent yet are kept until it has (its cursor).
 * `dryRun` counts without deleting.
 */
export async function runRetention(
  store: ProfileStore,
  targets: RetentionTarget[],
  opts: { eventDestinations: string[]; dryRun?: boolean },
): Promise<RetentionOutcome[]> {
  if (!targets.length) return [];
  let sentUpTo = Number.MAX_SAFE_INTEGER;
  for (const d of opts.eventDestinations) sentUpTo = Math.min(sentUpTo, (await store.delivery.status(d)).eventSeq);
  const out: RetentionOutcome[] = [];
  for (const t of targets) {
    const deleted = await store.privacy.expireTrackRecords({ source: t.source, stream: t.stream, before: t.before, maxSeq: sentUpTo, dryRun: !!opts.dryRun });
    out.push({ ...t, deleted });
  }
  return out;
}

/** Destinations that send track events: retention keeps what they have not sent yet. */
export function eventDestinations(config: Pick<TributaryConfig, 'destinations'>): string[] {
  return config.destinations.filter((d) => d.events).map((d) => d.name);
}
