import { describe, expect, it } from 'vitest';
import { editDistance, givenName, namesCompatible } from './name-guard.js';

describe('name guard', () => {
  it('takes the given name from firstName, else the first word of a full name, folded', () => {
    expect(givenName({ firstName: '  Chloé ' }, ['firstName', 'fullName'])).toBe('chloe');
    expect(givenName({ fullName: 'Sarah  Lewis' }, ['firstName', 'fullName'])).toBe('sarah');
    expect(givenName({ fullName: 'Meyer, Leon' }, ['firstName', 'fullName'])).toBe('leon');
    expect(givenName({ lastName: 'X' }, ['firstName', 'fullName'])).toBeUndefined();
  });

  it('accepts typos, prefixes and accents; refuses different people', () => {
    expect(namesCompatible('thomas', 'thmas')).toBe(true);
    expect(namesCompatible('chris', 'christopher')).toBe(true);
    expect(namesCompatible('anne', 'anen')).toBe(true);
    expect(namesCompatible('marc', 'julie')).toBe(false);
    expect(namesCompatible('emma', 'noah')).toBe(false);
    expect(namesCompatible(undefined, 'julie')).toBe(true);
  });

  it('edit distance counts a transposition as one edit', () => {
    expect(editDistance('anne', 'anen', 2)).toBe(1);
    expect(editDistance('kitten', 'sitting', 5)).toBe(3);
  });
});
