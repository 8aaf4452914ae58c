import { comparableForm, compareValues, levelLabels, MISSING, readTrait } from './compare.js';
import { blockingKeys, comparisonsBlockedBy, pairsFromBlocks } from './blocking.js';
import { comparisonName, type ProbabilisticConfig } from './config.js';

/**
 * Fellegi-Sunter model: for each comparison level, m = P(level | same person) and
 * u = P(level | different people); a pair's weight is the sum of log2(m/u) over
 * its comparisons plus the prior log-odds of a match. u comes from random pairs
 * (different people almost always), m and the match share from EM over the
 * candidate pairs, with no labels.
 */

export interface PreparedRecord {
  key: string;
  /** Value per comparison in its comparable form (same order as the config), undefined when missing. */
  values: Array<string | undefined>;
  blockingKeys: string[];
}

export interface ComparisonModel {
  name: string;
  trait: string;
  levels: string[];
  m: number[];
  u: number[];
  termFrequency: boolean;
}

export interface MatchModel {
  version: number;
  trainedAt: string;
  /** False when EM ran out of iterations, or found no matches (see unseparated). */
  converged: boolean;
  /** Comparisons whose exact agreement came out no likelier among matches than among non-matches. */
  unseparated?: string[];
  iterations: number;
  /** Share of matches among candidate pairs (EM's estimate): shown, not used to score. */
  lambda: number;
  /**
   * Share of matches among all pairs of records: the prior a pair's score starts
   * from. u comes from random pairs, so the prior must be a random pair's too;
   * starting from the candidate share instead counts the blocking agreement twice
   * (once in lambda, once in the weights), and two namesakes born in the same year
   * then need little more than their names to link. Models saved before this field
   * existed score from lambda.
   */
  prior?: number;
  comparisons: ComparisonModel[];
  /** comparison name -> value -> share of records carrying it (values seen at least twice). */
  tf: Record<string, Record<string, number>>;
  /** Share used for a value absent from a tf table: one record of the training set. */
  tfFloor: number;
  records: number;
  pairs: number;
}

export interface Prepared {
  records: PreparedRecord[];
  /** Trait values of an unexpected type (object, boolean...), compared as missing. */
  unexpected: number;
}

/** `withKeys: false` skips blocking keys (stored candidates already sit under theirs). */
export function prepareRecords(input: Array<{ key: string; traits: Record<string, unknown> }>, cfg: ProbabilisticConfig, withKeys = true): Prepared {
  let unexpected = 0;
  const records = input.map(({ key, traits }) => ({
    key,
    values: cfg.comparisons.map((c) => {
      const r = readTrait(traits, c.trait);
      if (r.unexpected) unexpected++;
      return comparableForm(c, r.value);
    }),
    blockingKeys: withKeys ? blockingKeys(traits, cfg.blocking) : [],
  }));
  return { records, unexpected };
}

export function pairLevels(cfg: ProbabilisticConfig, a: PreparedRecord, b: PreparedRecord): number[] {
  return cfg.comparisons.map((c, k) => compareValues(c, a.values[k], b.values[k]));
}

/** A small seeded generator, so training is repeatable. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** u per level from random pairs, with add-one smoothing so no level is impossible. */
export function estimateU(records: PreparedRecord[], cfg: ProbabilisticConfig, seed = 1): number[][] {
  const counts = cfg.comparisons.map((c) => new Array<number>(levelLabels(c).length).fill(1));
  const n = records.length;
  const rand = rng(seed);
  if (n >= 2) {
    for (let s = 0; s < cfg.randomPairs; s++) {
      const i = Math.floor(rand() * n);
      let j = Math.floor(rand() * (n - 1));
      if (j >= i) j++;
      const lv = pairLevels(cfg, records[i], records[j]);
      lv.forEach((l, k) => {
        if (l !== MISSING) counts[k][l]++;
      });
    }
  }
  return counts.map((c) => {
    const total = c.reduce((a, b) => a + b, 0);
    return c.map((x) => x / total);
  });
}

export function termFrequencies(records: PreparedRecord[], cfg: ProbabilisticConfig): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  cfg.comparisons.forEach((c, k) => {
    if (!c.termFrequency) return;
    const counts = new Map<string, number>();
    let present = 0;
    for (const r of records) {
      const v = r.values[k];
      if (v === undefined) continue;
      present++;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const table: Record<string, number> = {};
    for (const [v, n] of counts) if (n >= 2) table[v] = n / present;
    out[comparisonName(c)] = table;
  });
  return out;
}

/** Levels of every pair, computed once: row p holds pair p's level per comparison. */
export function levelMatrix(cfg: ProbabilisticConfig, records: PreparedRecord[], pairs: Array<[number, number]>): Int8Array {
  const cs = cfg.comparisons;
  const K = cs.length;
  const out = new Int8Array(pairs.length * K);
  for (let p = 0; p < pairs.length; p++) {
    const a = records[pairs[p][0]].values;
    const b = records[pairs[p][1]].values;
    for (let k = 0; k < K; k++) out[p * K + k] = compareValues(cs[k], a[k], b[k]);
  }
  return out;
}

/**
 * Distinct agreement patterns and how many pairs show each (fastLink: EM over counts,
 * not pairs). `include` picks the pairs; `leaveOut` comparisons count as missing.
 */
export function patternCounts(levels: Int8Array, K: number, leaveOut: boolean[], include: (p: number) => boolean): Map<number, { levels: number[]; count: number }> {
  const out = new Map<number, { levels: number[]; count: number }>();
  const pairs = levels.length / K;
  for (let p = 0; p < pairs; p++) {
    if (!include(p)) continue;
    let code = 0;
    for (let k = 0; k < K; k++) code = code * 8 + (leaveOut[k] ? 0 : levels[p * K + k] + 1);
    const hit = out.get(code);
    if (hit) hit.count++;
    else {
      const lv: number[] = [];
      for (let k = 0; k < K; k++) lv.push(leaveOut[k] ? MISSING : levels[p * K + k]);
      out.set(code, { levels: lv, count: 1 });
    }
  }
  return out;
}

export interface EmResult {
  m: number[][];
  lambda: number;
  iterations: number;
  converged: boolean;
}

/**
 * EM with u held fixed (from random pairs): updates m and the match share. Stops when
 * no m moves by more than the tolerance; hitting maxIterations first is "not converged".
 */
export function runEm(
  patterns: Iterable<{ levels: number[]; count: number }>,
  u: number[][],
  start: { m: number[][]; lambda: number },
  opts: { maxIterations: number; tolerance: number; fitM?: boolean },
): EmResult {
  const list = [...patterns];
  let m = start.m.map((r) => [...r]);
  let lambda = start.lambda;
  const fitM = opts.fitM ?? true;
  for (let it = 1; it <= opts.maxIterations; it++) {
    const mAcc = m.map((r) => r.map(() => 1e-9));
    let matchMass = 0;
    let total = 0;
    for (const { levels, count } of list) {
      let pm = lambda;
      let pu = 1 - lambda;
      levels.forEach((l, k) => {
        if (l === MISSING) return;
        pm *= m[k][l];
        pu *= u[k][l];
      });
      const g = pm / (pm + pu);
      matchMass += g * count;
      total += count;
      if (fitM) levels.forEach((l, k) => {
        if (l !== MISSING) mAcc[k][l] += g * count;
      });
    }
    const nextLambda = Math.min(Math.max(matchMass / Math.max(total, 1), 1e-9), 1 - 1e-9);
    const nextM = fitM ? mAcc.map((r) => {
      const s = r.reduce((a, b) => a + b, 0);
      return r.map((x) => x / s);
    }) : m;
    let delta = Math.abs(nextLambda - lambda);
    nextM.forEach((r, k) => r.forEach((x, l) => (delta = Math.max(delta, Math.abs(x - m[k][l])))));
    m = nextM;
    lambda = nextLambda;
    if (delta < opts.tolerance) return { m, lambda, iterations: it, converged: true };
  }
  return { m, lambda, iterations: opts.maxIterations, converged: false };
}

/** Starting m: most matches agree exactly, the rest spread over lower levels. */
function initialM(levels: number): number[] {
  const m = [0.9];
  for (let l = 1; l < levels; l++) m.push((0.1 * 2 ** (levels - 1 - l)) / (2 ** (levels - 1) - 1));
  return m;
}

/**
 * The matches EM expects among the candidate pairs, as a share of all pairs of
 * `records` records (blocking is taken to miss no match: its recall bounds this).
 */
export function pairPrior(lambda: number, candidatePairs: number, records: number): number {
  const all = (records * (records - 1)) / 2;
  if (all <= 0) return lambda;
  return Math.min(lambda, Math.max((lambda * candidatePairs) / all, 1e-12));
}

export interface TrainResult {
  model: MatchModel;
  /** Per blocking rule: iterations and whether its EM converged. */
  perRule: Array<{ rule: string; pairs: number; iterations: number; converged: boolean }>;
}

/**
 * Train on a set of records: u from random pairs, then EM per blocking rule on
 * that rule's pairs with the comparisons the rule blocks on left out (they agree
 * by construction there), m averaged over the rules that estimated it, and the
 * match share over all candidate pairs with m and u fixed.
 */
export function train(
  prepared: PreparedRecord[],
  cfg: ProbabilisticConfig,
  version: number,
  now = new Date(),
  given?: { pairs: Array<[number, number]>; levels: Int8Array },
): TrainResult {
  const u = estimateU(prepared, cfg);
  const K = cfg.comparisons.length;
  const sizes = cfg.comparisons.map((c) => levelLabels(c).length);
  const sums = sizes.map((n) => new Array<number>(n).fill(0));
  const votes = sizes.map(() => 0);
  const perRule: TrainResult['perRule'] = [];
  let converged = true;
  let iterations = 0;
  const all = given?.pairs ?? pairsFromBlocks(prepared.map((r) => r.blockingKeys));
  const levels = given?.levels ?? levelMatrix(cfg, prepared, all);
  for (const rule of cfg.blocking) {
    const prefix = `${rule.name}|`;
    const keyOf = prepared.map((r) => r.blockingKeys.find((k) => k.startsWith(prefix)));
    const inRule = (p: number) => {
      const a = keyOf[all[p][0]];
      return a !== undefined && a === keyOf[all[p][1]];
    };
    const leaveOut = comparisonsBlockedBy(rule, cfg.comparisons);
    if (leaveOut.every(Boolean)) continue;
    const patterns = patternCounts(levels, K, leaveOut, inRule);
    const count = [...patterns.values()].reduce((a, x) => a + x.count, 0);
    if (count === 0) continue;
    const em = runEm(patterns.values(), u, { m: sizes.map(initialM), lambda: cfg.em.initialMatchShare }, cfg.em);
    perRule.push({ rule: rule.name, pairs: count, iterations: em.iterations, converged: em.converged });
    converged &&= em.converged;
    iterations = Math.max(iterations, em.iterations);
    leaveOut.forEach((out, k) => {
      if (out) return;
      em.m[k].forEach((x, l) => (sums[k][l] += x));
      votes[k]++;
    });
  }
  const m = sums.map((s, k) => (votes[k] ? s.map((x) => x / votes[k]) : initialM(sizes[k])));
  const fit = runEm(patternCounts(levels, K, sizes.map(() => false), () => true).values(), u, { m, lambda: cfg.em.initialMatchShare }, { ...cfg.em, fitM: false });
  converged &&= fit.converged;
  // EM on data with (almost) no matches still "converges", to a model where exact
  // agreement is no evidence at all. Such a model must not be used.
  const unseparated = cfg.comparisons.filter((_, k) => votes[k] > 0 && m[k][0] <= u[k][0]).map(comparisonName);
  const model: MatchModel = {
    version,
    trainedAt: now.toISOString(),
    converged: converged && unseparated.length === 0,
    ...(unseparated.length ? { unseparated } : {}),
    iterations,
    lambda: fit.lambda,
    prior: pairPrior(fit.lambda, all.length, prepared.length),
    comparisons: cfg.comparisons.map((c, k) => ({ name: comparisonName(c), trait: c.trait, levels: levelLabels(c), m: m[k], u: u[k], termFrequency: c.termFrequency })),
    tf: termFrequencies(prepared, cfg),
    tfFloor: 1 / Math.max(prepared.length, 1),
    records: prepared.length,
    pairs: all.length,
  };
  return { model, perRule };
}
