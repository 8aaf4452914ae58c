import { MISSING } from './compare.js';
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
  let weight = Math.log2(model.lambda / (1 - model.lambda));
  // The prior comes first, so the weights listed add up to the total.
  const evidence: ComparisonEvidence[] = [{ comparison: 'prior', level: `match share ${model.lambda.toFixed(4)}`, weight }];
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

/** Prior log-odds as one more line of an explanation. */
export function priorWeight(model: MatchModel): number {
  return Math.log2(model.lambda / (1 - model.lambda));
}

/**
 * Fast path for scoring many pairs: weight only (no evidence objects), from a
 * level row. Evidence is built with scoreLevels for the few pairs that are kept.
 */
export function weightTable(model: MatchModel): number[][] {
  return model.comparisons.map((c, k) => c.levels.map((_, l) => levelWeight(model, k, l, undefined)));
}

export function fastProbability(model: MatchModel, table: number[][], levels: Int8Array, offset: number, values: Array<string | undefined>): number {
  let w = Math.log2(model.lambda / (1 - model.lambda));
  for (let k = 0; k < table.length; k++) {
    const l = levels[offset + k];
    if (l === MISSING) continue;
    w += l === 0 && model.comparisons[k].termFrequency ? levelWeight(model, k, 0, values[k]) : table[k][l];
  }
  return 1 / (1 + 2 ** -w);
}
