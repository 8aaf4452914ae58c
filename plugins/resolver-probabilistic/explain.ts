import type { ProbabilisticLink } from '../../core/resolution/types.js';
import type { ProfileStore } from '../../core/store/types.js';

/** A store that keeps probabilistic links (the SQLite store does). */
interface LinkStore {
  probabilisticLinksOfProfile(profileId: string): Promise<ProbabilisticLink[]>;
}

/** The probabilistic links touching a profile's records; none for a store that keeps none. */
export async function probabilisticLinksFor(store: ProfileStore, profileId: string): Promise<ProbabilisticLink[]> {
  const s = store as ProfileStore & Partial<LinkStore>;
  return s.probabilisticLinksOfProfile ? s.probabilisticLinksOfProfile(profileId) : [];
}

/** Lines for `profiles explain`: each link, then each comparison's level and weight (log2 Bayes factor). */
export function formatProbabilisticLinks(links: ProbabilisticLink[]): string[] {
  if (!links.length) return [];
  const lines = [`probabilistic links (${links.length}):`];
  for (const l of links) {
    const total = l.evidence.reduce((a, e) => a + e.weight, 0);
    lines.push(`  ${l.recordKey} ~ ${l.otherRecordKey}: match probability ${l.probability.toFixed(4)} (total weight ${total.toFixed(2)}, model version ${l.modelVersion}, ${l.at})`);
    for (const e of l.evidence) lines.push(`    ${e.comparison.padEnd(16)} ${e.level.padEnd(40)} ${e.weight >= 0 ? '+' : ''}${e.weight.toFixed(2)}`);
  }
  return lines;
}
