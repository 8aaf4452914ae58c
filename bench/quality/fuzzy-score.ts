import { existsSync } from 'node:fs';
import { resolutionSchema } from '../../core/config/schema.js';
import { DeterministicResolver } from '../../core/resolution/deterministic.js';
import type { Resolver } from '../../core/resolution/types.js';
import { recordKey, type CanonicalRecord } from '../../core/schema/canonical.js';
import { SqliteStore } from '../../core/store/sqlite-store.js';
import type { ProbabilisticConfig } from '../../plugins/resolver-probabilistic/config.js';
import { linkAll } from '../../plugins/resolver-probabilistic/link.js';
import type { MatchModel } from '../../plugins/resolver-probabilistic/model.js';
import { ProbabilisticResolver, RESOLVER_ID } from '../../plugins/resolver-probabilistic/resolver.js';
import { pinnedClock } from './clock.js';
import { shuffled } from './febrl-score.js';
import { fuzzyReachable, type FuzzyDataset } from './fuzzy.js';
import { scoreClustering, type QualityScores } from './metrics.js';

/** bench/quality/fuzzy.yaml, from the sources (tests) or from dist/ (the bench). */
export const FUZZY_CONFIG = [new URL('./fuzzy.yaml', import.meta.url), new URL('../../../bench/quality/fuzzy.yaml', import.meta.url)].find((u) => existsSync(u)) ?? new URL('./fuzzy.yaml', import.meta.url);

export interface FuzzyRun {
  scores: QualityScores;
  /** record key -> profile id. */
  predicted: Map<string, string>;
  /** Trap pairs (households, twins) whose two people share a profile. */
  householdsMerged: number;
  twinsMerged: number;
  probabilisticLinks: number;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Resolve the records through a resolver and a fresh in-memory store, in batches, as a sync would. */
async function throughStore(records: CanonicalRecord[], resolver: Resolver, rules: ReturnType<typeof resolutionSchema.parse>, batchSize: number) {
  const store = new SqliteStore(':memory:');
  let ids = 0;
  const ctx = { logger: quiet, rules, now: pinnedClock(), newProfileId: () => `q${++ids}` };
  let links = 0;
  try {
    for (let i = 0; i < records.length; i += batchSize) {
      const part = records.slice(i, i + batchSize);
      const resolution = await resolver.resolve(ctx, part, store);
      links += resolution.probabilisticLinks?.length ?? 0;
      await store.commitBatch({ sync: 'fuzzy', records: part, resolution, deadLetters: [], checkpoints: [], destinations: [] });
    }
    return { predicted: new Map((await store.dumpResolution()).recordProfiles), links };
  } finally {
    await store.close();
  }
}

/** How many trap pairs ended up in one profile. */
export function trapMerges(ds: FuzzyDataset, predicted: Map<string, string>): { households: number; twins: number } {
  const profilesOf = new Map<string, Set<string>>();
  for (const [key, person] of ds.truth) {
    const s = profilesOf.get(person) ?? new Set<string>();
    s.add(predicted.get(key)!);
    profilesOf.set(person, s);
  }
  const out = { households: 0, twins: 0 };
  for (const [a, b, kind] of ds.trapPairs) {
    const pb = profilesOf.get(b)!;
    if ([...profilesOf.get(a)!].some((p) => pb.has(p))) out[kind === 'twins' ? 'twins' : 'households']++;
  }
  return out;
}

/** One trap pair found in one profile, with the records of both people there: what `--list-traps` prints. */
export interface TrapMerge {
  kind: 'household' | 'twins';
  people: [string, string];
  profile: string;
  records: Array<{ key: string; person: string; traits: Record<string, unknown>; identifiers: string[] }>;
}

/** The trap pairs that share a profile, each with the records of its two people in that profile. */
export function trapMergeList(ds: FuzzyDataset, predicted: Map<string, string>): TrapMerge[] {
  const byKey = new Map(ds.records.map((r) => [recordKey(r), r]));
  const keysOf = new Map<string, string[]>();
  for (const [key, person] of ds.truth) keysOf.set(person, [...(keysOf.get(person) ?? []), key]);
  const out: TrapMerge[] = [];
  for (const [a, b, kind] of ds.trapPairs) {
    const profilesOfB = new Set(keysOf.get(b)!.map((k) => predicted.get(k)));
    for (const profile of new Set(keysOf.get(a)!.map((k) => predicted.get(k)!))) {
      if (!profilesOfB.has(profile)) continue;
      const records = [...keysOf.get(a)!, ...keysOf.get(b)!]
        .filter((k) => predicted.get(k) === profile)
        .map((key) => ({ key, person: ds.truth.get(key)!, traits: byKey.get(key)!.traits, identifiers: byKey.get(key)!.identifiers.map((i) => i.value) }));
      out.push({ kind, people: [a, b], profile, records });
    }
  }
  return out;
}

function finish(ds: FuzzyDataset, predicted: Map<string, string>, links: number): FuzzyRun {
  const t = trapMerges(ds, predicted);
  return { scores: scoreClustering(predicted, ds.truth), predicted, householdsMerged: t.households, twinsMerged: t.twins, probabilisticLinks: links };
}

/** The deterministic resolver with the default rules (exact email and phone, name guard). */
export async function deterministicFuzzy(ds: FuzzyDataset, records = ds.records, batchSize = 500): Promise<FuzzyRun> {
  const { predicted, links } = await throughStore(records, new DeterministicResolver(), resolutionSchema.parse({}), batchSize);
  return finish(ds, predicted, links);
}

/** Train a model on all records, unsupervised (what `resolve --train` does over the store). */
export function trainFuzzy(ds: FuzzyDataset, cfg: ProbabilisticConfig): MatchModel {
  return linkAll(ds.records.map((r) => ({ key: recordKey(r), traits: r.traits })), cfg).model;
}

/**
 * The probabilistic resolver plugin as a sync runs it with a trained model:
 * deterministic rules first, then links to stored candidates by blocking key.
 */
export async function probabilisticFuzzy(ds: FuzzyDataset, cfg: ProbabilisticConfig, model: MatchModel, records = ds.records, batchSize = 500): Promise<FuzzyRun> {
  const rules = resolutionSchema.parse({ resolver: RESOLVER_ID, probabilistic: {} });
  rules.probabilistic = cfg;
  const resolver = new ProbabilisticResolver();
  resolver.useModel(model);
  const { predicted, links } = await throughStore(records, resolver, rules, batchSize);
  return finish(ds, predicted, links);
}

/** Recall of the best partition exact identifiers allow. */
export function exactCeiling(ds: FuzzyDataset): QualityScores {
  return scoreClustering(fuzzyReachable(ds), ds.truth);
}

/** Pairwise F1 between the partition of the given order and those of shuffled orders. */
export async function orderAgreement(base: Map<string, string>, again: (records: CanonicalRecord[]) => Promise<FuzzyRun>, ds: FuzzyDataset, seeds: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const seed of seeds) out.push(scoreClustering((await again(shuffled(ds.records, seed))).predicted, base).pairwise.f1);
  return out;
}
