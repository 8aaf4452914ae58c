import { describe, expect, it } from 'vitest';
import { clusterLinks } from './cluster.js';
import { probabilisticSchema } from './config.js';
import { namesConflict, recordNames } from './names.js';

const guard = probabilisticSchema.parse({ comparisons: [{ trait: 'firstName', kind: 'exact' }], blocking: [{ name: 'n', on: ['lastName'] }] }).nameGuard;
const rec = (firstName?: string, lastName?: string) => recordNames({ firstName, lastName }, guard);

describe('given-name guard on probabilistic links', () => {
  it('tells two people of one household apart, also when both records swapped given and family name alike', () => {
    expect(namesConflict(rec('Julie', 'Thomas'), rec('Mathieu', 'Thomas'))).toBe(true);
    expect(namesConflict(rec('Dubois', 'Chloé'), rec('Dubois', 'Julie'))).toBe(true);
    expect(namesConflict(rec('Jones', 'Jessica'), rec('James', 'Jones'))).toBe(true);
  });

  it('keeps one person together through typos, a swap, case and a missing name', () => {
    expect(namesConflict(rec('Sophie', 'Smith'), rec('Sphie', 'Smmith'))).toBe(false);
    expect(namesConflict(rec('Chloé', 'Dubois'), rec('Dubois', 'Chloe'))).toBe(false);
    expect(namesConflict(rec('ANDREW', 'Anderson'), rec('Andrew', undefined))).toBe(false);
    expect(namesConflict(rec(undefined, 'Anderson'), rec('Andrew', 'Anderson'))).toBe(false);
  });

  it('never lets a chain of links, or a record without a given name, join twins', () => {
    // 0 = Jean Martin, 1 = Marie Martin (twins), 2 = a Martin record with no given name linked to both.
    const names = [rec('Jean', 'Martin'), rec('Marie', 'Martin'), rec(undefined, 'Martin')];
    const links = [
      { a: 0, b: 2, probability: 0.99 },
      { a: 1, b: 2, probability: 0.99 },
    ];
    const guarded = clusterLinks({ size: 3, links, support: 0.5, names, requireGivenName: true });
    expect(guarded.clusterOf[0]).not.toBe(guarded.clusterOf[1]);
    expect(guarded.clusterOf[2]).toBe(2);
    // Without requireGivenName the nameless record joins one twin, and still never both.
    const loose = clusterLinks({ size: 3, links, support: 0.5, names, requireGivenName: false });
    expect(loose.clusterOf[0]).not.toBe(loose.clusterOf[1]);
    expect(loose.refusedNames).toBe(1);
  });
});
