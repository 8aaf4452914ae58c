import { describe, expect, it } from 'vitest';
import { foldName, givenName, traitGetter, traitAt } from './name-guard.js';

// Folded names are remembered by their text; paths are split once. Both must answer as the plain functions did.

describe('name guard: remembered folds and compiled paths', () => {
  it('a text that folds to nothing stays nothing when asked again', () => {
    for (let round = 0; round < 3; round++) {
      expect(foldName('--- 42 ---')).toBeUndefined();
      expect(foldName('  Chloé ')).toBe('chloe');
      expect(givenName({ firstName: '123' }, ['firstName'])).toBeUndefined();
    }
  });

  it('reads the same as traitAt for plain, dotted, nested and missing paths', () => {
    const traits: Record<string, unknown> = { zip: ' 75011 ', 'address.postalCode': 'flat', address: { postalCode: 'nested' }, other: { a: 1 } };
    for (const path of ['zip', 'address.postalCode', 'address', 'missing', 'other.a', 'other.b', 'missing.deeper']) {
      expect(traitGetter(path)(traits)).toEqual(traitAt(traits, path));
    }
    expect(traitGetter('address.postalCode')({ address: { postalCode: 'nested' } })).toBe('nested');
    expect(traitGetter('address.postalCode')({ address: 'text' })).toBeUndefined();
    expect(traitGetter('zip')({})).toBeUndefined();
  });
});
