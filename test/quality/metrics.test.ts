import { describe, expect, it } from 'vitest';
import { ClusteringMismatchError, scoreClustering, type Clustering } from '../../bench/quality/metrics.js';

/** Builds record -> cluster from groups: [['a','b'],['c']] puts a,b in cluster 0 and c in cluster 1. */
function clusters(groups: string[][], prefix = 'k'): Clustering {
  return new Map(groups.flatMap((g, i) => g.map((r) => [r, `${prefix}${i}`] as const)));
}

describe('scoreClustering on a hand-worked example', () => {
  /*
   * 6 records. truth T1={a,b,c} T2={d,e} T3={f}; predicted P1={a,b} P2={c,d,e} P3={f}.
   * Contingency cells (P,T,n): (P1,T1,2) (P2,T1,1) (P2,T2,2) (P3,T3,1).
   *
   * Pairwise: TP = C(2,2)+C(1,2)+C(2,2)+C(1,2) = 1+0+1+0 = 2  (a-b, d-e)
   *   predicted pairs = C(2,2)+C(3,2)+C(1,2) = 1+3+0 = 4, so FP = 2 (c-d, c-e)
   *   true pairs      = C(3,2)+C(2,2)+C(1,2) = 3+1+0 = 4, so FN = 2 (a-c, b-c)
   *   precision = 2/4 = 1/2, recall = 2/4 = 1/2, F1 = 1/2.
   *
   * B-cubed precision, per record = |pred cluster ∩ true cluster| / |pred cluster|:
   *   a 2/2, b 2/2, c 1/3, d 2/3, e 2/3, f 1/1 -> sum 14/3, mean 14/18 = 7/9.
   * B-cubed recall, per record = |pred ∩ true| / |true cluster|:
   *   a 2/3, b 2/3, c 1/3, d 2/2, e 2/2, f 1/1 -> sum 14/3, mean 7/9. F1 = 7/9.
   */
  const truth = clusters([['a', 'b', 'c'], ['d', 'e'], ['f']], 't');
  const predicted = clusters([['a', 'b'], ['c', 'd', 'e'], ['f']], 'p');
  const s = scoreClustering(predicted, truth);

  it('counts pairs from the contingency table', () => {
    expect(s.records).toBe(6);
    expect(s.pairwise.truePositivePairs).toBe(2);
    expect(s.pairwise.predictedPairs).toBe(4);
    expect(s.pairwise.truePairs).toBe(4);
    expect(s.pairwise.precision).toBeCloseTo(1 / 2, 12);
    expect(s.pairwise.recall).toBeCloseTo(1 / 2, 12);
    expect(s.pairwise.f1).toBeCloseTo(1 / 2, 12);
  });

  it('computes B-cubed per record', () => {
    expect(s.bcubed.precision).toBeCloseTo(7 / 9, 12);
    expect(s.bcubed.recall).toBeCloseTo(7 / 9, 12);
    expect(s.bcubed.f1).toBeCloseTo(7 / 9, 12);
  });

  it('reports cluster counts and largest sizes of each side', () => {
    expect(s.predicted).toEqual({ clusters: 3, largest: 3 });
    expect(s.truth).toEqual({ clusters: 3, largest: 3 });
  });

  it('does not depend on cluster labels', () => {
    const r = scoreClustering(clusters([['f'], ['c', 'd', 'e'], ['a', 'b']], 'other-'), truth);
    expect(r.pairwise).toEqual(s.pairwise);
    expect(r.predicted).toEqual(s.predicted);
    // B-cubed sums fractions, so another summation order may differ in the last bit.
    expect(r.bcubed.precision).toBeCloseTo(s.bcubed.precision, 12);
    expect(r.bcubed.recall).toBeCloseTo(s.bcubed.recall, 12);
  });
});

describe('scoreClustering on an asymmetric example (under-merging)', () => {
  /*
   * truth {a,b,c,d}; predicted {a,b},{c},{d}.
   * TP = 1 (a-b), predicted pairs = 1, true pairs = C(4,2) = 6.
   *   precision = 1, recall = 1/6, F1 = 2*(1/6)/(7/6) = 2/7.
   * B-cubed precision: every predicted cluster is pure -> 1.
   * B-cubed recall: a 2/4, b 2/4, c 1/4, d 1/4 -> 6/4 / 4 = 3/8; F1 = 2*(3/8)/(11/8) = 6/11.
   */
  it('matches the hand-worked fractions', () => {
    const s = scoreClustering(clusters([['a', 'b'], ['c'], ['d']]), clusters([['a', 'b', 'c', 'd']]));
    expect(s.pairwise.precision).toBe(1);
    expect(s.pairwise.recall).toBeCloseTo(1 / 6, 12);
    expect(s.pairwise.f1).toBeCloseTo(2 / 7, 12);
    expect(s.bcubed.precision).toBe(1);
    expect(s.bcubed.recall).toBeCloseTo(3 / 8, 12);
    expect(s.bcubed.f1).toBeCloseTo(6 / 11, 12);
    expect(s.predicted).toEqual({ clusters: 3, largest: 2 });
    expect(s.truth).toEqual({ clusters: 1, largest: 4 });
  });
});

describe('scoreClustering edge cases', () => {
  const keys = ['a', 'b', 'c', 'd'];
  const singletons = clusters(keys.map((k) => [k]));
  const oneBig = clusters([keys]);

  it('all singletons on both sides is perfect (no pair claimed, none missed)', () => {
    const s = scoreClustering(singletons, singletons);
    expect(s.pairwise).toEqual({ precision: 1, recall: 1, f1: 1, truePositivePairs: 0, predictedPairs: 0, truePairs: 0 });
    expect(s.bcubed).toEqual({ precision: 1, recall: 1, f1: 1 });
    expect(s.predicted).toEqual({ clusters: 4, largest: 1 });
  });

  it('predicting all singletons against one true cluster: precise, no recall', () => {
    const s = scoreClustering(singletons, oneBig);
    expect(s.pairwise.precision).toBe(1);
    expect(s.pairwise.recall).toBe(0);
    expect(s.pairwise.f1).toBe(0);
    expect(s.bcubed.precision).toBe(1);
    expect(s.bcubed.recall).toBeCloseTo(1 / 4, 12);
    expect(s.bcubed.f1).toBeCloseTo(2 / 5, 12);
  });

  it('predicting one big cluster against singletons: full recall, no precision', () => {
    const s = scoreClustering(oneBig, singletons);
    expect(s.pairwise.precision).toBe(0);
    expect(s.pairwise.recall).toBe(1);
    expect(s.pairwise.predictedPairs).toBe(6);
    expect(s.bcubed.precision).toBeCloseTo(1 / 4, 12);
    expect(s.bcubed.recall).toBe(1);
    expect(s.predicted).toEqual({ clusters: 1, largest: 4 });
    expect(s.truth).toEqual({ clusters: 4, largest: 1 });
  });

  it('throws, naming the records, when the key sets differ', () => {
    const predicted = clusters([['a', 'b'], ['x']]);
    const truth = clusters([['a', 'b', 'c']]);
    expect(() => scoreClustering(predicted, truth)).toThrow(ClusteringMismatchError);
    try {
      scoreClustering(predicted, truth);
    } catch (e) {
      expect(e).toBeInstanceOf(ClusteringMismatchError);
      if (!(e instanceof ClusteringMismatchError)) return;
      expect(e.missingFromPredicted).toEqual(['c']);
      expect(e.missingFromTruth).toEqual(['x']);
      expect(e.message).toContain('c');
    }
  });

  it('throws on a subset too (same size is not enough)', () => {
    expect(() => scoreClustering(clusters([['a', 'b']]), clusters([['a', 'b', 'c']]))).toThrow(/1 in truth only/);
  });

  it('throws on empty input rather than inventing a score', () => {
    expect(() => scoreClustering(new Map(), new Map())).toThrow(/no records/);
  });

  it('scores a large clustering without enumerating pairs', () => {
    // 300k records in one predicted cluster is 4.5e10 pairs: a pair loop would blow the test timeout.
    const n = 300_000;
    const predicted = new Map<string, string>();
    const truth = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      predicted.set(`r${i}`, 'all');
      truth.set(`r${i}`, `t${i % 1000}`);
    }
    const s = scoreClustering(predicted, truth);
    expect(s.pairwise.predictedPairs).toBe((n * (n - 1)) / 2);
    expect(s.pairwise.truePairs).toBe(1000 * ((300 * 299) / 2));
    expect(s.pairwise.recall).toBe(1);
    expect(s.bcubed.precision).toBeCloseTo(300 / n, 12);
  });
});
