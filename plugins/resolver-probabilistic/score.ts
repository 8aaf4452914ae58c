import { compareValues, MISSING } from './compare.js';
import type { ProbabilisticConfig } from './config.js';
import { pairLevels, type MatchModel, type PreparedRecord } from './model.js';

/** One comparison's part in a pair's score, as `profiles explain` shows it. */
export interface ComparisonEvidence {
  comparison: string;
  level: string;
  /** log2(m/u), term-frequency adjusted on an exact agreement; 0 when missing. */
  weight: number;
}

export interface PairScore {
  weight: number;
  probability: number;
  evidence: ComparisonEvidence[];
}

/** Bayes factors are capped so one comparison never decides alone on rounding noise. */
const MAX_WEIGHT = 20;

function levelWeight(model: MatchModel, k: number, level: number, value: string | undefined): number {
  const c = model.comparisons[k];
  const m = c.m[level];
  let u = c.u[level];
  if (level === 0 && c.termFrequency && value !== undefined) {
    // An exact agreement on x happens between different people about freq(x) of the time.
    u = model.tf[c.name]?.[value] ?? model.tfFloor;
  }
  const w = Math.log2(m / u);
  return Math.max(-MAX_WEIGHT, Math.min(MAX_WEIGHT, w));
}

export function scoreLevels(model: MatchModel, levels: number[], values: Array<string | undefined>): PairScore {
  let weight = priorWeight(model);
  // The prior comes first, so the weights listed add up to the total.
  const share = model.prior ?? model.lambda;
  const evidence: ComparisonEvidence[] = [{ comparison: 'prior', level: `match share ${share < 0.001 ? share.toExponential(2) : share.toFixed(4)}${model.prior === undefined ? '' : ' of all pairs'}`, weight }];
  levels.forEach((l, k) => {
    const c = model.comparisons[k];
    if (l === MISSING) {
      evidence.push({ comparison: c.name, level: 'missing', weight: 0 });
      return;
    }
    const w = levelWeight(model, k, l, values[k]);
    weight += w;
    evidence.push({ comparison: c.name, level: c.levels[l], weight: w });
  });
  return { weight, probability: 1 / (1 + 2 ** -weight), evidence };
}

export function scorePair(cfg: ProbabilisticConfig, model: MatchModel, a: PreparedRecord, b: PreparedRecord): PairScore {
  return scoreLevels(model, pairLevels(cfg, a, b), a.values);
}

/** Prior log-odds of a match: the share among all pairs (models saved before it existed: among candidate pairs). */
export function priorWeight(model: MatchModel): number {
  const p = model.prior ?? model.lambda;
  return Math.log2(p / (1 - p));
}

/**
 * Fast path for scoring many pairs: weight only (no evidence objects), from a
 * level row. Evidence is built with scoreLevels for the few pairs that are kept.
 */
export function weightTable(model: MatchModel): number[][] {
  return model.comparisons.map((c, k) => c.levels.map((_, l) => levelWeight(model, k, l, undefined)));
}

export function fastProbability(model: MatchModel, table: number[][], levels: Int8Array, offset: number, values: Array<string | undefined>): number {
  let w = priorWeight(model);
  for (let k = 0; k < table.length; k++) {
    const l = levels[offset + k];
    if (l === MISSING) continue;
    w += l === 0 && model.comparisons[k].termFrequency ? levelWeight(model, k, 0, values[k]) : table[k][l];
  }
  return 1 / (1 + 2 ** -w);
}

const COST: Record<string, number> = { exact: 0, postcode: 0, date: 0, 'phone-last': 0, 'email-local': 1, 'jaro-winkler': 2, tokens: 3 };

/**
 * Scores pairs but gives up on a pair as soon as even the best remaining levels
 * could not lift it to `floor` probability: cheap comparisons run first, and most
 * candidate pairs of a block (different people at one postcode) are settled after
 * two or three of them. Returns undefined for a pair given up on, which is then
 * certain to be below `floor`; otherwise the same probability as scoreLevels.
 */
export class BoundedScorer {
  private readonly order: number[];
  private readonly table: number[][];
  private readonly prior: number;
  private readonly floorWeight: number;

  constructor(
    private readonly cfg: ProbabilisticConfig,
    private readonly model: MatchModel,
    floor: number,
  ) {
    this.table = weightTable(model);
    this.prior = priorWeight(model);
    this.floorWeight = Math.log2(floor / (1 - floor));
    this.order = cfg.comparisons.map((_, k) => k).sort((x, y) => COST[cfg.comparisons[x].kind] - COST[cfg.comparisons[y].kind]);
  }

  /**
   * Per record a, the most the comparisons from position i on can still add: the
   * best level's weight, with an exact match on a's own value weighed by its term
   * frequency. Cached: a batch record meets many candidates.
   */
  private readonly bounds = new WeakMap<PreparedRecord, number[]>();
  private boundsOf(a: PreparedRecord): number[] {
    let b = this.bounds.get(a);
    if (b) return b;
    b = this.order.map((k) => {
      const levels = this.table[k];
      const exact = this.model.comparisons[k].termFrequency ? levelWeight(this.model, k, 0, a.values[k]) : levels[0];
      return Math.max(0, exact, ...levels.slice(1));
    });
    for (let i = b.length - 2; i >= 0; i--) b[i] += b[i + 1];
    this.bounds.set(a, b);
    return b;
  }

  /** Levels (config order) and probability, or undefined when below the floor for certain. */
  score(a: PreparedRecord, b: PreparedRecord): { levels: number[]; probability: number } | undefined {
    const levels = new Array<number>(this.order.length);
    const best = this.boundsOf(a);
    let w = this.prior;
    for (let i = 0; i < this.order.length; i++) {
      if (w + best[i] < this.floorWeight) return undefined;
      const k = this.order[i];
      const l = compareValues(this.cfg.comparisons[k], a.values[k], b.values[k]);
      levels[k] = l;
      if (l === MISSING) continue;
      w += l === 0 && this.model.comparisons[k].termFrequency ? levelWeight(this.model, k, 0, a.values[k]) : this.table[k][l];
    }
    return { levels, probability: 1 / (1 + 2 ** -w) };
  }
}
