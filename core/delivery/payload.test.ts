import { describe, expect, it } from 'vitest';
import type { ProfileDocument } from '../plugin/types.js';
import { compilePayload } from './payload.js';
import { hashPii, normalizeForHash } from './pii-hash.js';
import type { Vocabulary } from './vocabulary.js';

const vocabulary: Vocabulary = { traits: new Set(['firstName', 'email']), consent: new Set(['email_marketing']), computed: new Set(['orders']), identifiers: new Set(['email', 'phone', 'external_id.crm']) };

const doc: ProfileDocument = {
  id: 'prof_1',
  identifiers: [
    { type: 'email', value: 'a@old.io' },
    { type: 'email', value: 'john_smith@gmail.com' },
    { type: 'external_id', namespace: 'crm', value: 'CRM-1' },
    { type: 'phone', value: '+16505551212' },
  ],
  traits: { firstName: 'John', email: 'john_smith@gmail.com', consent: { email_marketing: false } },
  computed: { orders: 4 },
  records: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
};

describe('PII hashing (as the ad platforms match)', () => {
  it("matches Meta's published vectors", () => {
    expect(hashPii('email', '  John_Smith@gmail.com ')).toBe('62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f');
    expect(normalizeForHash('phone', '+16505551212')).toBe('16505551212');
    expect(hashPii('phone', '+16505551212')).toBe('e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176');
    expect(hashPii('phone', '(650)555-1212'.replace(/^/, '1'))).toBe('e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176');
  });
});

describe('payload mapping', () => {
  it('reads every kind of path; the main email is the one the email trait holds', () => {
    const { payload, problems } = compilePayload(
      {
        ID: 'id',
        FIRSTNAME: 'traits.firstName',
        EMAIL: 'identifiers.email',
        EMAILS: 'identifiers.email[]',
        CRM: 'identifiers.external_id.crm',
        ORDERS: 'computed.orders',
        OPTIN: 'consent.email_marketing',
        EMAIL_HASH: 'sha256(identifiers.email)',
        PHONE_HASH: 'sha256(identifiers.phone)',
        MISSING: 'traits.email.nothing',
      },
      { vocabulary },
    );
    expect(problems).toEqual([]);
    expect(payload!.build(doc)).toEqual({
      ID: 'prof_1',
      FIRSTNAME: 'John',
      EMAIL: 'john_smith@gmail.com',
      EMAILS: ['a@old.io', 'john_smith@gmail.com'],
      CRM: 'CRM-1',
      ORDERS: 4,
      OPTIN: false,
      EMAIL_HASH: '62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f',
      PHONE_HASH: 'e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176',
    });
  });

  it('refuses names the destination does not take and paths that are not paths; warns on names no source maps', () => {
    const { payload, problems } = compilePayload(
      { firstname: 'traits.firstName', NICK: 'traits.nick', BAD: 'profile.name', PHONE: 'identifiers.fax', C: 'computed.ltv' },
      { names: /^[A-Z]+$/, describe: 'upper-case names', vocabulary },
    );
    expect(payload).toBeUndefined();
    expect(problems).toEqual([
      { name: 'firstname', severity: 'error', message: '"firstname" is not a valid name here (expected upper-case names)' },
      { name: 'NICK', severity: 'warning', message: 'no source maps trait "nick" (traits mapped: email, firstName)' },
      { name: 'BAD', severity: 'error', message: expect.stringMatching(/^"profile.name" is not a profile path/) },
      { name: 'PHONE', severity: 'warning', message: 'no source maps identifier "fax" (identifiers mapped: email, external_id.crm, phone)' },
      { name: 'C', severity: 'warning', message: 'no computed trait "ltv" in resolution.computed (defined: orders)' },
    ]);
  });
});

describe('payload mapping: __proto__', () => {
  // As JSON.parse (or a stored profile) gives them: __proto__ is an own key of the trait value.
  const withProto = { ...doc, traits: { ...doc.traits, address: JSON.parse('{"__proto__":"x","city":"Oslo"}') as unknown } };
  const known = { vocabulary: { ...vocabulary, traits: new Set([...vocabulary.traits, 'address']) } };

  it('an output named __proto__ is an error, not a payload whose prototype is the value', () => {
    const { payload, problems } = compilePayload(JSON.parse('{"__proto__":"traits.address","CITY":"traits.address.city"}') as Record<string, string>, known);
    expect(payload).toBeUndefined();
    expect(problems).toEqual([{ name: '__proto__', severity: 'error', message: expect.stringMatching(/cannot be an output name/) }]);
  });

  it('a nested __proto__ key is read by its path and sent as it is', () => {
    const { payload } = compilePayload({ ADDRESS: 'traits.address', INNER: 'traits.address.__proto__' }, known);
    const out = payload!.build(withProto);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"ADDRESS":{"__proto__":"x","city":"Oslo"},"INNER":"x"}');
  });
});
