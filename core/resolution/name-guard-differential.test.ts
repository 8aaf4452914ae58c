import { describe, expect, it } from 'vitest';
import { createRng } from '../../bench/quality/prng.js';
import { compareEvidence, hasGiven, type NameEvidence } from './name-guard.js';
import { compareEvidence as referenceCompare, hasGiven as referenceHasGiven } from './__reference__/name-guard.js';

// Issue 13 (2026-12-06) took the copies and closures out of the name guard's readings. Its answers
// (ok, score, level, pair, why, swappedLevel) must be the reference copy's in every mode, on seeded
// sides that carry several spellings, swapped orders ("Wolf Hannah"), one word in both slots, no
// given name, and dates of birth and postcodes that do and do not agree.

const WORDS = ['ann', 'anne', 'annie', 'bob', 'robert', 'chloe', 'caleb', 'archie', 'jon', 'john', 'julie', 'julien', 'hannah', 'wolf', 'martin', 'priest', 'warneke', 'roux', 'muller', 'mueller', 'j', 'al', 'christo', 'christopher'];

function side(rnd: () => number): NameEvidence {
  const int = (n: number) => Math.floor(rnd() * n);
  const counts = (n: number, pool: readonly string[]) => {
    const m: Record<string, number> = {};
    for (let i = 0; i < n; i++) m[pool[int(pool.length)]] = 1 + int(3);
    return m;
  };
  const e: NameEvidence = { given: counts(int(4), WORDS), family: counts(int(3), WORDS) };
  if (rnd() < 0.4) e.dob = counts(1 + int(2), ['19900102', '19900103', '19850714']);
  if (rnd() < 0.4) e.postcode = counts(1 + int(2), ['75001', '75002', '69001']);
  return e;
}

describe('name guard: same answers as the reference copy', () => {
  it('20,000 random pairs of sides, in each of the three modes', () => {
    const rnd = createRng(11).next;
    const seen = { ok: 0, refused: 0, swapped: 0 };
    for (let i = 0; i < 20_000; i++) {
      const a = side(rnd);
      const b = side(rnd);
      expect(hasGiven(a)).toBe(referenceHasGiven(a));
      for (const opts of [{}, { strict: true }, { personal: true }]) {
        const got = compareEvidence(a, b, opts);
        expect(got, JSON.stringify({ a, b, opts })).toEqual(referenceCompare(a, b, opts));
        if (got.ok) seen.ok++;
        else seen.refused++;
        if (got.swappedLevel) seen.swapped++;
      }
    }
    for (const [k, n] of Object.entries(seen)) expect(n, k).toBeGreaterThan(500);
  });
});
