import { describe, expect, it } from 'vitest';
import { createRng } from '../../bench/quality/prng.js';
import type { CandidateKey } from './rules.js';
import { breaksCapOrLimit, breaksFew, breaksMany, breaksOne, type Countable } from './limits.js';

// The one-profile path must give the general path's answer, reason text included, in every case:
// it decides nearly every join, and a different reason is a different refusal in the store.

const CLASSES = ['email', 'phone', 'external_id:crm', 'external_id:shop'];

/** Random keys over a few values per class (so records repeat them and profiles own them), and profiles made of them. */
function generator(seed: number) {
  const rnd = createRng(seed);
  const key = (): CandidateKey => {
    const limitClass = rnd.pick(CLASSES);
    return { key: `${limitClass}\u0000v${rnd.int(0, 5)}`, type: limitClass.split(':')[0], limitClass, priority: 1, rule: 'mergeOn:x' };
  };
  const profile = (maxRecords: number, maxKeys: number): Countable => {
    const w: Countable = { state: { recordCount: rnd.int(0, maxRecords) }, keys: new Set(), classCounts: new Map() };
    for (let k = rnd.int(0, maxKeys); k > 0; k--) {
      const c = key();
      if (w.keys.has(c.key)) continue;
      w.keys.add(c.key);
      w.classCounts.set(c.limitClass, (w.classCounts.get(c.limitClass) ?? 0) + 1);
    }
    return w;
  };
  return { rnd: rnd.next, key, profile };
}

describe('caps and limits: one profile', () => {
  it('agrees with the general computation on 20,000 random joins (caps, limits, repeated and owned keys)', () => {
    const { rnd, key, profile } = generator(7);
    let refusals = 0;
    const reasons = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const limits: Record<string, number> = { email: 1 + Math.floor(rnd() * 3), 'external_id:crm': 1, phone: 2 };
      const rules = { limitFor: (cls: string) => limits[cls], maxRecords: 2 + Math.floor(rnd() * 4), maxIdentifiers: 2 + Math.floor(rnd() * 5) };
      const w = rnd() < 0.8 ? profile(4, 4) : undefined;
      const extra = Array.from({ length: Math.floor(rnd() * 4) }, key);
      const more = rnd() < 0.7 ? key() : undefined;
      const add = rnd() < 0.5 ? 0 : 1;
      const expected = breaksMany(rules, w ? [w] : [], extra, add, more);
      expect(breaksOne(rules, w, extra, add, more)).toBe(expected);
      // The resolver asks about a presenter with no profile built yet as the second part.
      expect(breaksFew(rules, undefined, w, extra, add, more)).toBe(expected);
      expect(breaksCapOrLimit(rules, w ? [w] : [], extra, add, more)).toBe(expected);
      if (expected) {
        refusals++;
        reasons.add(expected.replace(/\d+/g, 'N'));
      }
    }
    // The cases exercised every kind of reason, and allowed joins too.
    expect([...reasons].sort()).toEqual([
      'cap: more than N identifiers in one profile',
      'cap: more than N records in one profile',
      'limit: more than N email values in one profile',
      'limit: more than N external_id.crm values in one profile',
      'limit: more than N phone values in one profile',
    ]);
    expect(refusals).toBeGreaterThan(2000);
    expect(refusals).toBeLessThan(18_000);
  });
});

describe('caps and limits: two profiles', () => {
  it('agrees with the general computation on 20,000 random joins of two profiles (shared keys, repeated keys, absent parts)', () => {
    const { rnd, key, profile } = generator(11);
    const reasons = new Set<string>();
    let allowed = 0;
    for (let i = 0; i < 20_000; i++) {
      const limits: Record<string, number> = { email: 1 + Math.floor(rnd() * 4), 'external_id:crm': 1 + Math.floor(rnd() * 2), phone: 2 };
      const rules = { limitFor: (cls: string) => limits[cls], maxRecords: 2 + Math.floor(rnd() * 6), maxIdentifiers: 3 + Math.floor(rnd() * 8) };
      const a = profile(3, 5);
      const b = rnd() < 0.1 ? a : profile(3, 5);
      const extra = Array.from({ length: Math.floor(rnd() * 4) }, key);
      const more = rnd() < 0.7 ? key() : undefined;
      const add = rnd() < 0.5 ? 0 : 1;
      const expected = breaksMany(rules, [a, b], extra, add, more);
      expect(breaksFew(rules, a, b, extra, add, more)).toBe(expected);
      expect(breaksCapOrLimit(rules, [a, b], extra, add, more)).toBe(expected);
      if (expected) reasons.add(expected.replace(/\d+/g, 'N'));
      else allowed++;
    }
    expect([...reasons].sort()).toEqual([
      'cap: more than N identifiers in one profile',
      'cap: more than N records in one profile',
      'limit: more than N email values in one profile',
      'limit: more than N external_id.crm values in one profile',
      'limit: more than N phone values in one profile',
    ]);
    expect(allowed).toBeGreaterThan(1000);
  });
});
