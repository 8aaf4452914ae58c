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

describe('name levels (issue 11)', () => {
  const ev = (given: string, family?: string) => ({ given: { [given]: 1 }, family: family ? { [family]: 1 } : {} });

  it('nicknames and diminutives from the curated list, initials, and transliteration', async () => {
    const { compareGiven, foldName } = await import('./name-guard.js');
    expect(compareGiven('robert', 'bob')).toBe('alias');
    expect(compareGiven('margaret', 'peggy')).toBe('alias');
    expect(compareGiven('j', 'john')).toBe('alias');
    expect(foldName('Дмитрий')).toBe('dmitriy');
    expect(foldName('  Chloé ')).toBe('chloe');
  });

  it('two known, different given names are two people however close the spelling', async () => {
    const { compareGiven } = await import('./name-guard.js');
    expect(compareGiven('mark', 'mary')).toBe('differ');
    expect(compareGiven('oliver', 'olivia')).toBe('differ');
  });

  it('a two-letter typo is close: it counts when the family names agree, not when they differ', async () => {
    const { compareEvidence } = await import('./name-guard.js');
    for (const [a, b] of [['oscar', 'osacar'], ['eliza', 'ezia'], ['oliver', 'oievr']]) {
      expect(compareEvidence(ev(a, 'kent'), ev(b, 'kent')).ok).toBe(true);
      expect(compareEvidence(ev(a, 'kent'), ev(b, 'moreau')).ok).toBe(false);
    }
  });

  it('swapped given and family names match', async () => {
    const { compareEvidence } = await import('./name-guard.js');
    expect(compareEvidence(ev('oliver', 'kent'), ev('kent', 'oliver')).ok).toBe(true);
    expect(compareEvidence(ev('oliver', 'kent'), ev('kent', 'emma')).ok).toBe(false);
  });

  it('compares with every name a profile carries, and prefers the most frequent one', async () => {
    const { compareEvidence } = await import('./name-guard.js');
    const profile = { given: { oliver: 3, oievr: 1 }, family: { kent: 4 } };
    expect(compareEvidence(ev('oliver', 'kent'), profile).ok).toBe(true);
    expect(compareEvidence(ev('oliver', 'kent'), profile).score).toBeGreaterThan(compareEvidence(ev('oliver', 'kent'), ev('oievr', 'kent')).score);
  });
});

describe('nicknames that are names of their own', () => {
  it('Amelia and Emily (listed as related, both full names) stay two people; Bob and Robert do not', async () => {
    const { compareGiven } = await import('./name-guard.js');
    expect(compareGiven('amelia', 'emily')).toBe('differ');
    expect(compareGiven('emily', 'emma')).toBe('differ');
    expect(compareGiven('bob', 'robert')).toBe('alias');
    expect(compareGiven('jon', 'john')).toBe('alias');
  });
});
