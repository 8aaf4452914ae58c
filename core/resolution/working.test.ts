import { describe, expect, it } from 'vitest';
import { createRng } from '../../bench/quality/prng.js';
import { addEvidence, emptyEvidence, type NameEvidence } from './name-guard.js';
import { copiesAsItself, sortedIdentifiers, sortOldestFirst, type Working } from './working.js';

const prng = (seed: number) => createRng(seed).next;

describe('sortedIdentifiers', () => {
  it('gives what [...keys].sort() gives on 5,000 random profiles (sorted or not, duplicates, many added keys)', () => {
    const rnd = prng(3);
    const key = () => `${['email', 'phone', 'external_id:crm', 'Email', 'é'][Math.floor(rnd() * 5)]}\u0000v${Math.floor(rnd() * 40)}`;
    let shortcut = 0;
    for (let i = 0; i < 5000; i++) {
      let stored = Array.from({ length: Math.floor(rnd() * 8) }, key);
      const shape = rnd();
      // Mostly what a store hands back (sorted, distinct); sometimes not, which must fall back to a full sort.
      if (shape < 0.7) stored = [...new Set(stored)].sort();
      else if (shape < 0.85) stored = [...new Set(stored)];
      const keys = new Set(stored);
      for (let k = Math.floor(rnd() * (rnd() < 0.1 ? 30 : 4)); k > 0; k--) keys.add(key());
      const expected = [...keys].sort();
      if (shape < 0.7) shortcut++;
      expect(sortedIdentifiers(stored, keys)).toEqual(expected);
    }
    expect(shortcut).toBeGreaterThan(3000);
  });
});

describe('sortOldestFirst', () => {
  it('orders like the comparator sort it replaced, and leaves the head alone', () => {
    const rnd = prng(5);
    for (let i = 0; i < 2000; i++) {
      const ws = Array.from({ length: Math.floor(rnd() * 7) }, (_, j) => ({
        isNew: rnd() < 0.4,
        state: { id: `p${Math.floor(rnd() * 1000)}-${j}`, createdAt: `2026-01-0${1 + Math.floor(rnd() * 3)}` },
      })) as unknown as Working[];
      const from = ws.length && rnd() < 0.5 ? 1 : 0;
      const age = (w: Working) => [w.isNew ? 1 : 0, w.state.createdAt, w.state.id] as const;
      const before = (a: Working, b: Working) => {
        const [x, y] = [age(a), age(b)];
        return x[0] !== y[0] ? x[0] < y[0] : x[1] !== y[1] ? x[1] < y[1] : x[2] < y[2];
      };
      const expected = [...ws.slice(0, from), ...ws.slice(from).sort((a, b) => (before(a, b) ? -1 : 1))];
      sortOldestFirst(ws, from);
      expect(ws).toEqual(expected);
    }
  });
});

describe('copiesAsItself', () => {
  it('holds only where a copy into empty evidence gives the same keys, order and counts (5,000 random stored bodies)', () => {
    const rnd = prng(17);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    const counts = () => {
      const parts = Array.from({ length: Math.floor(rnd() * 3) }, () => `${JSON.stringify(pick(['ann', 'bob', '19900102', '75001', 'constructor', 'ann', 'bob', '__proto__']))}:${rnd() < 0.9 ? pick(['1', '2', '3', '1.5']) : pick(['0', '-0', '-1', '"2"', 'null'])}`);
      return rnd() < 0.95 ? `{${parts.join(',')}}` : pick(['[]', 'null', '1']);
    };
    let adopted = 0;
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const fields = rnd() < 0.7 ? ['given', 'family', 'dob', 'postcode'] : pick([['given', 'family'], ['family', 'given', 'dob', 'postcode'], ['given', 'family', 'dob', 'postcode', 'nick']]);
      const body = `{${fields.map((f) => `"${f}":${counts()}`).join(',')}}`;
      const e = JSON.parse(body) as NameEvidence;
      if (!copiesAsItself(e)) {
        refused++;
        continue;
      }
      adopted++;
      const copy = emptyEvidence();
      addEvidence(copy, JSON.parse(body) as NameEvidence);
      expect(JSON.stringify(e), body).toBe(JSON.stringify(copy));
      expect(e, body).toStrictEqual(copy);
      for (const f of ['given', 'family', 'dob', 'postcode'] as const) {
        for (const k of Object.keys(copy[f]!)) expect(Object.is(e[f]![k], copy[f]![k]), `${body} ${f}.${k}`).toBe(true);
      }
    }
    expect(adopted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});
