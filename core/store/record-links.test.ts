import { describe, expect, it } from 'vitest';
import type { Identifier } from '../schema/canonical.js';
import { decodeLinks, encodeLinks } from './record-links.js';

const ids: Identifier[] = [
  { type: 'email', value: 'ann@x.com' },
  { type: 'external_id', value: '500', namespace: 'crm' },
  { type: 'phone', value: '+14155550101' },
];

describe('record links (schema 3)', () => {
  it('read back as written: own identifiers by index, other rules and other keys spelled out', () => {
    const links: Array<[string, string]> = [
      ['external_id:crm\u0000500', 'mergeOn:external_id'],
      ['email\u0000ann@x.com', 'mergeOn:email'],
      ['phone\u0000+14155550101', 'presented:phone'],
      ['email\u0000other@x.com', 'mergeOn:email'],
    ];
    const text = encodeLinks(ids, links);
    expect(decodeLinks(text, ids)).toStrictEqual(links);
    expect(text.length).toBeLessThan(JSON.stringify(links).length / 2);
  });

  it('read the form written before schema 3 as it is', () => {
    const old: Array<[string, string]> = [['email\u0000ann@x.com', 'mergeOn:email']];
    expect(decodeLinks(JSON.stringify(old), undefined)).toStrictEqual(old);
  });

  it('refuse to guess a key the record body no longer has', () => {
    expect(() => decodeLinks('[3]', ids)).toThrow(/identifier 3/);
  });
});
