import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { checkBlockingSize, estimatePairs, blockingKeys } from './blocking.js';
import { clusterLinks } from './cluster.js';
import { comparableForm, compareValues, MISSING } from './compare.js';
import { probabilisticSchema, type ProbabilisticConfig } from './config.js';
import { linkAll, type LinkRecord } from './link.js';
import { prepareRecords, runEm, train } from './model.js';
import { BoundedScorer, scorePair } from './score.js';
import { PEOPLE_SETTINGS, people } from './__fixtures__/people.js';

const cfg = (over: Partial<Record<string, unknown>> = {}): ProbabilisticConfig =>
  probabilisticSchema.parse({ ...PEOPLE_SETTINGS, ...over });

describe('comparison levels', () => {
  it('dates: exact, one digit off, day/month transposed, same year, else', () => {
    const c = cfg().comparisons[2];
    expect(compareValues(c, '19600210', '19600210')).toBe(0);
    expect(compareValues(c, '19600210', '19600211')).toBe(1);
    expect(compareValues(c, comparableForm(c, '1960-02-10'), comparableForm(c, '1960-10-02'))).toBe(1);
    expect(compareValues(c, '19600210', '19601125')).toBe(2);
    expect(compareValues(c, '19600210', '19711125')).toBe(3);
    expect(compareValues(c, undefined, '19711125')).toBe(MISSING);
  });

  it('traits of an unexpected type are compared as missing and counted', () => {
    const p = prepareRecords([{ key: 'a', traits: { firstName: { nested: true }, lastName: 'x', dob: false } }], cfg());
    expect(p.records[0].values[0]).toBeUndefined();
    expect(p.records[0].values[2]).toBeUndefined();
    expect(p.unexpected).toBe(2);
  });
});

describe('blocking', () => {
  it('refuses a rule that would compare nearly everything with everything, naming the estimate', () => {
    const recs = Array.from({ length: 200 }, (_, i) => ({ state: 'vic', id: String(i) }));
    const rules = probabilisticSchema.parse({ comparisons: [{ trait: 'id', kind: 'exact' }], blocking: [{ name: 'state', on: ['state'] }] }).blocking;
    const keys = recs.map((r) => blockingKeys(r, rules));
    expect(() => checkBlockingSize(estimatePairs(keys), 200, 20_000_000)).toThrow(ConfigError);
    expect(() => checkBlockingSize(estimatePairs(keys), 200, 20_000_000)).toThrow(/"state" would compare 19,900 pairs/);
  });

  it('rejects an empty rule at load', () => {
    expect(() => probabilisticSchema.parse({ comparisons: [{ trait: 'a', kind: 'exact' }], blocking: [{ name: 'all', on: [] }] })).toThrow(/every record with every other/);
  });
});

describe('training and scoring', () => {
  it('EM finds matches without labels: typo-level pairs of one person score above the threshold, different people below', () => {
    const c = cfg();
    const out = linkAll(people(300), c);
    expect(out.model.converged).toBe(true);
    // One person's records never disagree outright on first name (only one-letter typos),
    // different people nearly always do: EM must have learnt both without labels.
    const first = out.model.comparisons[0];
    expect(first.m[first.m.length - 1]).toBeLessThan(0.05);
    expect(first.u[first.u.length - 1]).toBeGreaterThan(0.8);
    const truth = (k: string) => k.split('-')[0];
    let wrong = 0;
    let together = 0;
    for (const [k, v] of out.clusters) {
      for (const [k2, v2] of out.clusters) {
        if (k >= k2) continue;
        if (v === v2 && truth(k) !== truth(k2)) wrong++;
        if (v === v2 && truth(k) === truth(k2)) together++;
      }
    }
    expect(wrong).toBe(0);
    expect(together).toBeGreaterThan(250);
  });

  it('EM that runs out of iterations says it did not converge', () => {
    const c = cfg({ em: { maxIterations: 1, tolerance: 1e-12 } });
    const { model } = train(prepareRecords(people(200), c).records, c, 7);
    expect(model.converged).toBe(false);
    expect(model.version).toBe(7);
    const em = runEm([{ levels: [0], count: 10 }, { levels: [1], count: 90 }], [[0.01, 0.99]], { m: [[0.9, 0.1]], lambda: 0.5 }, { maxIterations: 500, tolerance: 1e-9 });
    expect(em.converged).toBe(true);
  });

  it('an exact agreement on a common first name weighs less than on a rare one (term frequency)', () => {
    const c = cfg();
    const recs = people(300);
    recs.push({ key: 'rare-0', traits: { firstName: 'zebulon', lastName: 'q', dob: '20010101', zip: '9999' } });
    recs.push({ key: 'rare-1', traits: { firstName: 'zebulon', lastName: 'q', dob: '20010101', zip: '9999' } });
    const out = linkAll(recs, c);
    const p = prepareRecords([
      { key: 'a', traits: { firstName: 'anna' } },
      { key: 'b', traits: { firstName: 'anna' } },
      { key: 'c', traits: { firstName: 'zebulon' } },
      { key: 'd', traits: { firstName: 'zebulon' } },
    ], c).records;
    const common = scorePair(c, out.model, p[0], p[1]).evidence[1].weight;
    const rare = scorePair(c, out.model, p[2], p[3]).evidence[1].weight;
    expect(rare).toBeGreaterThan(common + 1);
  });
});

describe('bounded scoring', () => {
  it('gives up only on pairs certain to be below the floor, and otherwise scores exactly like scorePair', () => {
    const c = cfg();
    const recs = people(300);
    const out = linkAll(recs, c);
    const p = prepareRecords(recs, c).records;
    // Every pair among the first 200 records: all their true matches, typos included, and many non-matches.
    const pairs: Array<[number, number, number]> = [];
    for (let i = 0; i < 200; i++) for (let j = i + 1; j < 200; j++) pairs.push([i, j, scorePair(c, out.model, p[i], p[j]).probability]);
    // Floors at the threshold and where many pairs sit just above and below (the 99th and 90th percentile).
    const sorted = pairs.map((x) => x[2]).sort((x, y) => x - y);
    for (const floor of [c.matchThreshold, sorted[Math.floor(sorted.length * 0.99)], sorted[Math.floor(sorted.length * 0.9)]]) {
      const scorer = new BoundedScorer(c, out.model, floor);
      let skipped = 0;
      let kept = 0;
      for (const [i, j, full] of pairs) {
        const b = scorer.score(p[i], p[j]);
        if (b === undefined) {
          skipped++;
          expect(full).toBeLessThan(floor);
        } else {
          kept++;
          expect(b.probability).toBeCloseTo(full, 12);
        }
      }
      expect(skipped).toBeGreaterThan(0);
      expect(kept).toBeGreaterThan(0);
    }
  });
});

describe('clustering curbs chaining', () => {
  // Two triangles (0,1,2) and (3,4,5), joined by one bridge 2-3.
  const tri = [
    { a: 0, b: 1, probability: 0.99 }, { a: 1, b: 2, probability: 0.99 }, { a: 0, b: 2, probability: 0.99 },
    { a: 3, b: 4, probability: 0.99 }, { a: 4, b: 5, probability: 0.99 }, { a: 3, b: 5, probability: 0.99 },
  ];
  it('one weak link between two strong clusters does not merge them', () => {
    const out = clusterLinks({ size: 6, links: [...tri, { a: 2, b: 3, probability: 0.96 }], support: 0.5 });
    expect(new Set(out.clusterOf).size).toBe(2);
    expect(out.refusedWeak).toBe(1);
  });
  it('links from most of the smaller cluster do merge them', () => {
    const out = clusterLinks({ size: 6, links: [...tri, { a: 2, b: 3, probability: 0.96 }, { a: 1, b: 4, probability: 0.97 }], support: 0.5 });
    expect(new Set(out.clusterOf).size).toBe(1);
  });
  it('never joins records with two different values of one hard identifier', () => {
    const hard = [new Map([['external_id:crm', 'A']]), undefined, new Map([['external_id:crm', 'B']])];
    const out = clusterLinks({ size: 3, links: [{ a: 0, b: 1, probability: 0.99 }, { a: 1, b: 2, probability: 0.99 }], hard, support: 0.5 });
    expect(out.clusterOf[0]).not.toBe(out.clusterOf[2]);
    expect(out.refusedConflict).toBe(1);
  });
});
