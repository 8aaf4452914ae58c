import { describe, expect, it } from 'vitest';
import { createRng } from '../../bench/quality/prng.js';
import { resolutionSchema } from '../config/schema.js';
import { identifierKey, type Identifier } from '../schema/canonical.js';
import { compileBlocklist, compileRules } from './rules.js';
import { compileBlocklist as referenceBlocklist, compileRules as referenceRules } from './__reference__/rules.js';

// Issue 13 (2026-12-06) rewrote the candidate keys and the blocklist predicate for less work per
// identifier. Both must answer as the copy in __reference__/ does, key text, order, reasons and all,
// on seeded random configs and identifiers that hit duplicates, blocked values and every priority.

const VALUES = ['', 'null', 'N/A', '0', '000-000', 'Test', 'jane@acme.io', 'JANE@acme.io', 'noreply@shop.com', 'do-not-reply@x.io', 'a@example.org', 'info@acme.io', 'x1', 'C-1'];
const PHONES = ['+14155550123', '+15555555555', '+15555555555;ext=3', '+10000000000', '+11234567890', '+33612345678;ext=12', '+1999999999'];
const NAMESPACES = [undefined, '', 'crm', 'shop', 'x', 'a\u0000b'];

function identifiers(rnd: () => number): Identifier[] {
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
  return Array.from({ length: int(7) }, () => {
    const type = pick(['email', 'phone', 'external_id', 'anonymous_id', 'loyalty']);
    const value = type === 'phone' ? pick(PHONES) : pick(VALUES);
    const namespace = type === 'external_id' || type === 'loyalty' ? pick(NAMESPACES) : undefined;
    return (namespace === undefined ? { type, value } : { type, namespace, value }) as Identifier;
  });
}

function config(rnd: () => number) {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
  return resolutionSchema.parse({
    identifierTypes: ['loyalty'],
    mergeOn: pick([['external_id', 'email', 'phone'], ['email', 'phone'], ['external_id.crm', 'phone', 'email', 'external_id'], ['loyalty', 'email', 'loyalty.x', 'anonymous_id']]),
    useDefaultBlocklist: rnd() < 0.8,
    blocked: pick([{}, { email: { exact: ['Info@Acme.io', 'null'], regex: ['^do-'] } }, { loyalty: { regex: ['^x\\d$'] }, '*': { exact: ['c-1', 'x1'] } }]),
  });
}

describe('rules: same candidates and blocklist answers as the reference copy', () => {
  it('2,000 random records under 200 random configs', () => {
    const rnd = createRng(13).next;
    let blocked = 0;
    let several = 0;
    for (let c = 0; c < 200; c++) {
      const cfg = config(rnd);
      const now = compileRules(cfg);
      const old = referenceRules(cfg);
      const isBlocked = compileBlocklist(cfg);
      const wasBlocked = referenceBlocklist(cfg);
      for (let r = 0; r < 10; r++) {
        const ids = identifiers(rnd);
        const got = now.candidates(ids);
        expect(got, JSON.stringify(ids)).toEqual(old.candidates(ids));
        for (const k of got.keys) expect(ids.some((id) => identifierKey(id) === k.key)).toBe(true);
        for (const id of ids) expect(isBlocked(id.type, id.value)).toBe(wasBlocked(id.type, id.value));
        // Keys of classes described and not (yet), a namespace holding the separator, no separator at all.
        for (const k of [...got.keys.map((x) => x.key), ...got.blocked.map((x) => x.key), ...ids.map(identifierKey), 'email', 'loyalty:a\u0000b\u0000c', 'external_id\u0000']) {
          expect(now.limitClassOfKey(k), JSON.stringify(k)).toBe(old.limitClassOfKey(k));
        }
        blocked += got.blocked.length;
        if (got.keys.length > 1) several++;
      }
    }
    // The inputs must reach blocked values and records with several keys to sort, or this proves little.
    expect(blocked).toBeGreaterThan(200);
    expect(several).toBeGreaterThan(200);
  });
});
