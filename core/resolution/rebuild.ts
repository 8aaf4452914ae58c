import { newProfileId } from '../util/ids.js';
import type { ResolutionConfig } from '../config/schema.js';
import type { Logger } from '../plugin/types.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { MergeEvent } from './types.js';
import type { ProfileStore } from '../store/types.js';
import type { ProbabilisticLink, ProfileState, Resolver } from './types.js';

export interface RebuildReport {
  records: number;
  profilesBefore: number;
  profilesAfter: number;
  /**
   * New profiles that join records of several current profiles: id kept -> ids absorbed;
   * `probabilistic` lists the absorbed ids a probabilistic link joined (no identifier).
   */
  merges: Array<{ keep: string; absorb: string[]; probabilistic: string[] }>;
  /** Current profiles whose records end up in several profiles: id -> how many parts. */
  splits: Array<{ profile: string; parts: number; newIds: string[] }>;
  applied: boolean;
}

export interface RebuildOptions {
  store: ProfileStore;
  resolver: Resolver;
  rules: ResolutionConfig;
  logger: Logger;
  dryRun: boolean;
  destinations: string[];
  batchSize?: number;
  now?: () => Date;
}

/**
 * Re-run resolution over every stored record (after a rules change) into a scratch
 * store, then map the new profiles onto the old ids: an old profile's id stays with
 * the new profile that holds its oldest record; when several old ids land in one
 * new profile the oldest profile's id is kept and the others become aliases.
 */
export async function rebuildResolution(opts: RebuildOptions): Promise<RebuildReport> {
  // Applying holds the store's write lock from the first read to the replace, so a sync in
  // another process cannot commit records the rebuild did not see (it waits for the lock).
  return opts.dryRun ? rebuildUnlocked(opts) : opts.store.exclusive(() => rebuildUnlocked(opts));
}

/**
 * Tests only: hold the lock this long before replacing, so a test can start a
 * sync in another process while a rebuild is under way, every time.
 */
const TEST_PAUSE_ENV = 'TRIBUTARY_TEST_REBUILD_PAUSE_MS';

async function rebuildUnlocked(opts: RebuildOptions): Promise<RebuildReport> {
  const now = opts.now ?? (() => new Date());
  if (!opts.dryRun) opts.logger.debug("rebuild: holding the store's write lock; syncs in other processes wait for it");
  const scratch = new SqliteStore(':memory:');
  let temp = 0;
  const oldOf = new Map<string, string>();
  /** Old profile -> key of its oldest record (records iterate in first-stored order). */
  const oldestRecord = new Map<string, string>();
  let records = 0;
  try {
    for await (const page of opts.store.iterateRecords(opts.batchSize ?? 5000)) {
      for (const r of page) {
        const key = `${r.source}/${r.stream}/${r.recordId}`;
        oldOf.set(key, r.profileId);
        if (!oldestRecord.has(r.profileId)) oldestRecord.set(r.profileId, key);
      }
      const batch = page.map(({ profileId: _drop, ...rest }) => rest);
      const resolution = await opts.resolver.resolve(
        { logger: opts.logger, rules: opts.rules, now, newProfileId: () => `tmp_${String(++temp).padStart(12, '0')}` },
        batch,
        scratch,
      );
      await scratch.commitBatch({ sync: 'rebuild', records: batch, resolution, deadLetters: [], checkpoints: [], destinations: [] });
      records += page.length;
    }
    const snap = await scratch.dumpResolution();
    const oldProfiles = await opts.store.getProfiles([...new Set(oldOf.values())]);

    // Which old ids claim each new profile, through their oldest record.
    const claims = new Map<string, string[]>();
    for (const [oldId, key] of oldestRecord) {
      const tmp = snap.recordProfiles.get(key)!;
      claims.set(tmp, [...(claims.get(tmp) ?? []), oldId]);
    }
    const created = (id: string) => oldProfiles.get(id)?.createdAt ?? '';
    // Same creation time (one batch): the profile whose first record was stored first is the older.
    const firstSeen = new Map([...oldestRecord.keys()].map((id, i) => [id, i]));
    const finalOf = new Map<string, string>();
    const aliases = new Map<string, string>();
    const merges: RebuildReport['merges'] = [];
    const mergeEvents: MergeEvent[] = [];
    const at = now().toISOString();
    const probabilisticLinks = scratch.allProbabilisticLinks();
    const joinedBy = probabilisticJoins(probabilisticLinks, oldOf, snap.recordProfiles);
    for (const p of snap.profiles) {
      const claimants = (claims.get(p.id) ?? []).sort((a, b) => created(a).localeCompare(created(b)) || firstSeen.get(a)! - firstSeen.get(b)!);
      const keep = claimants[0] ?? newProfileId();
      finalOf.set(p.id, keep);
      if (claimants.length > 1) {
        const merge = { keep, absorb: claimants.slice(1), probabilistic: [] as string[] };
        merges.push(merge);
        for (const a of merge.absorb) {
          aliases.set(a, keep);
          // Made by a probabilistic link: the history says so and names the linked record, as a sync's merge does (explain shows the evidence).
          const link = joinedBy.get(a);
          if (link) merge.probabilistic.push(a);
          mergeEvents.push(
            link
              ? { survivor: keep, absorbed: a, recordKey: link.mine, identifierKey: `probabilistic\u0000${link.other}`, rule: 'probabilistic', at }
              : { survivor: keep, absorbed: a, recordKey: oldestRecord.get(a)!, identifierKey: '', rule: 'rebuild', at },
          );
        }
      }
    }
    const mapId = (id: string) => finalOf.get(id) ?? id;

    const partsOf = new Map<string, Set<string>>();
    for (const [key, oldId] of oldOf) {
      const set = partsOf.get(oldId) ?? new Set<string>();
      set.add(mapId(snap.recordProfiles.get(key)!));
      partsOf.set(oldId, set);
    }
    const splits = [...partsOf]
      .filter(([, parts]) => parts.size > 1)
      .map(([profile, parts]) => ({ profile, parts: parts.size, newIds: [...parts].sort() }));

    const report: RebuildReport = {
      records,
      profilesBefore: oldProfiles.size,
      profilesAfter: snap.profiles.length,
      merges,
      splits,
      applied: false,
    };
    if (opts.dryRun) return report;
    const pause = Number(process.env[TEST_PAUSE_ENV] ?? 0);
    if (pause > 0) await new Promise((r) => setTimeout(r, pause));

    // Aliases that pointed at an old id now point at wherever that id went.
    const previous = (await opts.store.dumpResolution()).aliases;
    for (const [alias, target] of previous) aliases.set(alias, aliases.get(target) ?? target);
    const profiles: ProfileState[] = snap.profiles.map((p) => {
      const id = mapId(p.id);
      const old = oldProfiles.get(id);
      return { ...p, id, createdAt: old?.createdAt ?? p.createdAt, updatedAt: at };
    });
    await opts.store.replaceResolution(
      {
        recordProfiles: new Map([...snap.recordProfiles].map(([k, id]) => [k, mapId(id)])),
        profiles,
        identifierOwners: new Map([...snap.identifierOwners].map(([k, id]) => [k, mapId(id)])),
        links: snap.links,
        presented: snap.presented.map(([k, id]) => [k, mapId(id)] as [string, string]),
        refused: snap.refused.map((r) => ({ ...r, profiles: r.profiles.map(mapId) })),
        aliases,
        merges: mergeEvents,
        // The links of the previous partition go; the rebuild's own justify the profiles it made.
        probabilisticLinks,
      },
      opts.destinations,
    );
    report.applied = true;
    return report;
  } finally {
    await scratch.close();
  }
}

/**
 * Old profile -> a probabilistic link (made during the rebuild) between one of its
 * records and a record of another old profile that lands in the same new profile:
 * the link that made that old profile part of the merge.
 */
function probabilisticJoins(
  links: ProbabilisticLink[],
  oldOf: Map<string, string>,
  newOf: Map<string, string>,
): Map<string, { mine: string; other: string }> {
  const out = new Map<string, { mine: string; other: string }>();
  for (const l of links) {
    const a = oldOf.get(l.recordKey);
    const b = oldOf.get(l.otherRecordKey);
    if (!a || !b || a === b || newOf.get(l.recordKey) !== newOf.get(l.otherRecordKey)) continue;
    if (!out.has(a)) out.set(a, { mine: l.recordKey, other: l.otherRecordKey });
    if (!out.has(b)) out.set(b, { mine: l.otherRecordKey, other: l.recordKey });
  }
  return out;
}
