/**
 * Clustering quality, computed from the contingency table (predicted cluster x true
 * cluster -> record count). Pair counts come from n-choose-2 sums over cells, rows and
 * columns, so scoring a million records costs one pass, never an O(n^2) pair loop.
 */

/** record key -> cluster id. Cluster ids only need to be equal within a cluster. */
export type Clustering = ReadonlyMap<string, string>;

export interface PrecisionRecall {
  precision: number;
  recall: number;
  f1: number;
}

export interface PairwiseScores extends PrecisionRecall {
  /** Pairs together in both clusterings. */
  truePositivePairs: number;
  /** Pairs together in the prediction. */
  predictedPairs: number;
  /** Pairs together in the truth. */
  truePairs: number;
}

export interface ClusterShape {
  clusters: number;
  largest: number;
}

export interface QualityScores {
  records: number;
  pairwise: PairwiseScores;
  bcubed: PrecisionRecall;
  predicted: ClusterShape;
  truth: ClusterShape;
}

/** The two clusterings do not cover the same records: scores would be meaningless. */
export class ClusteringMismatchError extends Error {
  constructor(
    readonly missingFromPredicted: string[],
    readonly missingFromTruth: string[],
  ) {
    const sample = (keys: string[]) => keys.slice(0, 3).join(', ') + (keys.length > 3 ? ', ...' : '');
    super(
      `clusterings cover different records: ${missingFromPredicted.length} in truth only (${sample(missingFromPredicted)}), ` +
        `${missingFromTruth.length} in predicted only (${sample(missingFromTruth)})`,
    );
    this.name = 'ClusteringMismatchError';
  }
}

function pairs(n: number): number {
  return (n * (n - 1)) / 2;
}

/** Harmonic mean; 0 when both are 0 rather than NaN. */
function f1(p: number, r: number): number {
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
}

function shape(sizes: Map<string, number>): ClusterShape {
  let largest = 0;
  for (const n of sizes.values()) if (n > largest) largest = n;
  return { clusters: sizes.size, largest };
}

function increment(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

/**
 * Pairwise and B-cubed precision/recall/F1 of `predicted` against `truth`.
 *
 * Pairwise precision with no predicted pairs (all singletons) is 1: nothing wrong was
 * claimed. Likewise recall with no true pairs is 1. Throws ClusteringMismatchError when
 * the key sets differ, and an Error on empty input.
 *
 * To measure recall against what exact identifiers allow, pass `reachableTruth(...)` as
 * `truth` and read only the recall figures: its clusters are finer than the real people.
 */
export function scoreClustering(predicted: Clustering, truth: Clustering): QualityScores {
  if (truth.size === 0) throw new Error('scoreClustering: no records to score');
  const missingFromPredicted: string[] = [];
  const missingFromTruth: string[] = [];
  for (const k of truth.keys()) if (!predicted.has(k)) missingFromPredicted.push(k);
  for (const k of predicted.keys()) if (!truth.has(k)) missingFromTruth.push(k);
  if (missingFromPredicted.length || missingFromTruth.length) throw new ClusteringMismatchError(missingFromPredicted, missingFromTruth);

  const predSizes = new Map<string, number>();
  const trueSizes = new Map<string, number>();
  // NUL cannot appear in cluster ids built from record keys or person ids, so the joined key is unambiguous.
  const cells = new Map<string, { pred: string; truth: string; n: number }>();
  for (const [key, p] of predicted) {
    const t = truth.get(key) ?? '';
    increment(predSizes, p);
    increment(trueSizes, t);
    const id = `${p}\u0000${t}`;
    const cell = cells.get(id);
    if (cell) cell.n++;
    else cells.set(id, { pred: p, truth: t, n: 1 });
  }

  let tp = 0;
  let bPrecision = 0;
  let bRecall = 0;
  for (const { pred, truth: t, n } of cells.values()) {
    tp += pairs(n);
    // Each of the n records in this cell has n correct neighbours (itself included) in a
    // predicted cluster of size a and a true cluster of size b: n * n/a and n * n/b.
    bPrecision += (n * n) / (predSizes.get(pred) ?? n);
    bRecall += (n * n) / (trueSizes.get(t) ?? n);
  }
  let predictedPairs = 0;
  for (const a of predSizes.values()) predictedPairs += pairs(a);
  let truePairs = 0;
  for (const b of trueSizes.values()) truePairs += pairs(b);

  const records = predicted.size;
  const precision = predictedPairs === 0 ? 1 : tp / predictedPairs;
  const recall = truePairs === 0 ? 1 : tp / truePairs;
  const bp = bPrecision / records;
  const br = bRecall / records;
  return {
    records,
    pairwise: { precision, recall, f1: f1(precision, recall), truePositivePairs: tp, predictedPairs, truePairs },
    bcubed: { precision: bp, recall: br, f1: f1(bp, br) },
    predicted: shape(predSizes),
    truth: shape(trueSizes),
  };
}
