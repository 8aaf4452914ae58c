import { checkBlockingSize, estimatePairs, pairsFromBlocks } from './blocking.js';
import { clusterLinks, type Link } from './cluster.js';
import type { ProbabilisticConfig } from './config.js';
import { groupNames, linkRefusal, namesReader } from './names.js';
import { levelMatrix, prepareRecords, train, type MatchModel, type TrainResult } from './model.js';
import { fastProbability, scoreLevels, weightTable, type PairScore } from './score.js';

/** One record as batch linkage sees it. */
export interface LinkRecord {
  key: string;
  traits: Record<string, unknown>;
  /** Hard identifiers (type or type:namespace -> value): differing values never join. */
  hard?: Map<string, string>;
  /** Starting group, e.g. the profile exact identifiers gave it. */
  group?: string;
}

export interface ScoredLink extends Link {
  score: PairScore;
}

export interface LinkOutcome {
  model: MatchModel;
  training?: TrainResult;
  /** record key -> cluster id (the key of one of its records). */
  clusters: Map<string, string>;
  pairs: number;
  matches: ScoredLink[];
  /** Links in the review band: kept apart, listed for a person to look at. */
  review: ScoredLink[];
  applied: Link[];
  refusedConflict: number;
  refusedWeak: number;
  refusedNames: number;
  unexpectedValues: number;
  /** prepare covers cleaning, blocking and comparing every candidate pair (the levels); score is weighing them. */
  seconds: { prepare: number; train: number; score: number; cluster: number };
}

const now = () => Number(process.hrtime.bigint()) / 1e9;

/**
 * Block, (train), score and cluster a whole set of records in memory: what
 * `resolve --train`, `resolve --rebuild` and the quality bench run. The
 * incremental path (resolver.ts) scores new records against stored candidates only.
 */
export function linkAll(records: LinkRecord[], cfg: ProbabilisticConfig, opts: { model?: MatchModel; version?: number } = {}): LinkOutcome {
  let t = now();
  const prepared = prepareRecords(records, cfg);
  const keys = prepared.records.map((r) => r.blockingKeys);
  checkBlockingSize(estimatePairs(keys), records.length, cfg.maxPairs);
  const pairs = pairsFromBlocks(keys);
  const levels = levelMatrix(cfg, prepared.records, pairs);
  const tPrepare = now() - t;
  t = now();
  const training = opts.model ? undefined : train(prepared.records, cfg, opts.version ?? 1, new Date(), { pairs, levels });
  const model = opts.model ?? training!.model;
  const tTrain = now() - t;
  t = now();
  const matches: ScoredLink[] = [];
  const review: ScoredLink[] = [];
  const table = weightTable(model);
  const K = cfg.comparisons.length;
  const readNames = namesReader(cfg);
  const names = records.map((r) => readNames(r.traits));
  let refusedPairNames = 0;
  for (let p = 0; p < pairs.length; p++) {
    const [a, b] = pairs[p];
    const probability = fastProbability(model, table, levels, p * K, prepared.records[a].values);
    if (probability < cfg.reviewThreshold) continue;
    const score = scoreLevels(model, Array.from(levels.subarray(p * K, p * K + K)), prepared.records[a].values);
    // Two records naming two people (twins, a household) never link: a match-level pair goes to review instead.
    const conflict = probability >= cfg.matchThreshold && linkRefusal(names[a], names[b], cfg.nameGuard) !== undefined;
    if (conflict) refusedPairNames++;
    (probability >= cfg.matchThreshold && !conflict ? matches : review).push({ a, b, probability, score });
  }
  const tScore = now() - t;
  t = now();
  const out = clusterLinks({
    size: records.length,
    links: matches,
    initial: records.map((r) => r.group),
    hard: records.map((r) => r.hard),
    support: cfg.linkSupport,
    names: groupNames(records.map((r, i) => ({ group: r.group ?? `\u0000${i}`, traits: r.traits })), cfg.nameGuard, () => undefined),
    requireGivenName: cfg.nameGuard !== false && cfg.nameGuard.requireGivenName,
  });
  const clusters = new Map<string, string>();
  records.forEach((r, i) => clusters.set(r.key, records[out.clusterOf[i]].key));
  return {
    model,
    training,
    clusters,
    pairs: pairs.length,
    matches,
    review,
    applied: out.applied,
    refusedConflict: out.refusedConflict,
    refusedWeak: out.refusedWeak,
    refusedNames: out.refusedNames + refusedPairNames,
    unexpectedValues: prepared.unexpected,
    seconds: { prepare: tPrepare, train: tTrain, score: tScore, cluster: now() - t },
  };
}
