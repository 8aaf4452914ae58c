import { describe, expect, it } from 'vitest';
import { normalizeBoolean, normalizeEmail, normalizeName, normalizePhone, normalizeTimestamp } from './normalize.js';
import { compileMapping } from './mapping.js';
import { mappingSchema } from '../config/schema.js';

describe('normalizers', () => {
  it('emails are trimmed and lowercased; junk is refused with a reason', () => {
    expect(normalizeEmail('  John.Doe@Example.COM ')).toEqual({ ok: true, value: 'john.doe@example.com' });
    expect(normalizeEmail('not-an-email')).toEqual({ ok: false, reason: 'not an email address' });
    expect(normalizeEmail(`${'a'.repeat(400)}@x.com`)).toMatchObject({ ok: false, reason: expect.stringMatching(/longer than/) });
  });

  it('phones become E.164 from national, international and 00 forms', () => {
    expect(normalizePhone('06 12 34 56 78', 'FR')).toEqual({ ok: true, value: '+33612345678' });
    expect(normalizePhone('+33 6 12 34 56 78')).toEqual({ ok: true, value: '+33612345678' });
    expect(normalizePhone('0033612345678', 'US')).toEqual({ ok: true, value: '+33612345678' });
    expect(normalizePhone('(415) 555-2671', 'US')).toEqual({ ok: true, value: '+14155552671' });
    expect(normalizePhone('12', 'US').ok).toBe(false);
    expect(normalizePhone('06 12 34 56 78').ok).toBe(false);
  });

  it('an invalid phone says what is wrong in the terms of the region it was read in (issue 11, cause 6)', () => {
    // libphonenumber guesses SX from "721": the reason must still speak of the US number as given.
    expect(normalizePhone('721 5421', 'US')).toEqual({ ok: false, reason: 'too short for US: 7 digits, a US number has 10 (area code missing)' });
    expect(normalizePhone('542-1234', 'US')).toEqual({ ok: false, reason: 'too short for US: 7 digits, a US number has 10 (area code missing)' });
    expect(normalizePhone('415 555 26711', 'US')).toEqual({ ok: false, reason: 'too long for US: 11 digits, a US number has 10' });
    expect(normalizePhone('06 12 34 5', 'FR')).toEqual({ ok: false, reason: 'too short for FR: 7 digits, a FR number has 9' });
    // Nine digits is a possible GB length, but not for a London (20) number.
    expect(normalizePhone('+44 20 7946 095')).toEqual({ ok: false, reason: 'not a valid GB phone number: no GB number of 9 digits starts with 207' });
    expect(normalizePhone('(999) 555-2671', 'US')).toEqual({ ok: false, reason: 'not a valid US phone number: no US number of 10 digits starts with 999' });
  });

  it('timestamps become ISO-8601 UTC; zone-less strings are UTC, not local time', () => {
    expect(normalizeTimestamp('2024-03-01 10:20:30')).toEqual({ ok: true, value: '2024-03-01T10:20:30.000Z' });
    expect(normalizeTimestamp('2024-03-01T12:20:30+02:00')).toEqual({ ok: true, value: '2024-03-01T10:20:30.000Z' });
    expect(normalizeTimestamp('2024-03-01')).toEqual({ ok: true, value: '2024-03-01T00:00:00.000Z' });
    expect(normalizeTimestamp(1709288430)).toEqual({ ok: true, value: '2024-03-01T10:20:30.000Z' });
    expect(normalizeTimestamp('yesterday')).toEqual({ ok: false, reason: 'not a date or time' });
  });

  it('names are trimmed and inner spaces collapsed; booleans read common spellings', () => {
    expect(normalizeName('  Anne   Marie ')).toBe('Anne Marie');
    expect(normalizeName('   ')).toBeUndefined();
    expect(normalizeBoolean('Yes')).toEqual({ ok: true, value: true });
    expect(normalizeBoolean('0')).toEqual({ ok: true, value: false });
    expect(normalizeBoolean('maybe').ok).toBe(false);
  });
});

describe('mapping', () => {
  const mctx = { source: 'crm', stream: 'customers', kind: 'identify' as const, primaryKey: ['id'], defaultRegion: 'US', now: () => '2026-01-01T00:00:00.000Z' };
  const mapping = mappingSchema.parse({
    identifiers: { email: 'email', phone: { field: 'phone', regionField: 'country' }, 'external_id.crm': 'id' },
    traits: { firstName: 'first', city: 'address.city' },
    observedAt: 'updated',
  });
  const { map, fieldsRead } = compileMapping(mapping, mctx);

  it('builds a canonical record with normalized identifiers, the raw value kept', () => {
    const r = map({ id: 7, email: ' A@B.COM ', phone: '06 12 34 56 78', country: 'fr', first: ' Ann ', address: { city: 'Lyon' }, updated: '2024-01-02 03:04:05' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.record.recordId).toBe('7');
    expect(r.record.identifiers).toEqual([
      { type: 'email', value: 'a@b.com', raw: ' A@B.COM ' },
      { type: 'phone', value: '+33612345678', raw: '06 12 34 56 78' },
      { type: 'external_id', value: '7', namespace: 'crm' },
    ]);
    expect(r.record.traits).toEqual({ firstName: 'Ann', city: 'Lyon', email: 'a@b.com', phone: '+33612345678' });
    expect(r.record.observedAt).toBe('2024-01-02T03:04:05.000Z');
    expect(fieldsRead.has('address.city')).toBe(true);
  });

  it('an invalid value is a field warning, not a failure, when another identifier remains', () => {
    const r = map({ id: 8, email: 'nope', phone: '123', updated: 'garbage' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.record.identifiers.map((i) => i.type)).toEqual(['external_id']);
    expect(r.record.warnings?.map((w) => w.field)).toEqual(['email', 'phone', 'updated']);
  });

  it('a record with no usable identifier fails with the reasons', () => {
    const noId = compileMapping(mappingSchema.parse({ identifiers: { email: 'email' } }), mctx).map;
    expect(noId({ id: 1, email: 'broken' })).toEqual({ ok: false, reason: 'no usable identifier: email not an email address', recordId: '1' });
    expect(noId({ email: 'a@b.com' })).toEqual({ ok: false, reason: 'primary key id is empty' });
  });
});

describe('mapping: a record whose identifier fields are all empty', () => {
  it('says which fields were empty', () => {
    const { map } = compileMapping(mappingSchema.parse({ identifiers: { email: 'email', phone: 'tel' } }), {
      source: 's', stream: 'x', kind: 'identify', primaryKey: ['id'], defaultRegion: 'US', now: () => '2026-01-01T00:00:00.000Z',
    });
    expect(map({ id: 1, email: '', tel: null })).toEqual({ ok: false, reason: 'no usable identifier: email, tel empty', recordId: '1' });
  });
});

describe('normalizers: issue 8 regressions', () => {
  it('phone extensions stay part of the value (E.164 then ;ext=N), so each extension is its own identifier', () => {
    expect(normalizePhone('+1 415 555 2671 ext 12', 'US')).toEqual({ ok: true, value: '+14155552671;ext=12' });
    expect(normalizePhone('(415) 555-2671 x14', 'US')).toEqual({ ok: true, value: '+14155552671;ext=14' });
    expect(normalizePhone('+14155552671;ext=15')).toEqual({ ok: true, value: '+14155552671;ext=15' });
    expect(normalizePhone('415-555-2671 #16', 'US')).toEqual({ ok: true, value: '+14155552671;ext=16' });
    expect(normalizePhone('(415) 555-2671', 'US')).toEqual({ ok: true, value: '+14155552671' });
    // The memo answers per region: the same text read in another region is another number.
    expect(normalizePhone('06 12 34 56 78', 'FR')).toEqual({ ok: true, value: '+33612345678' });
    expect(normalizePhone('06 12 34 56 78', 'US').ok).toBe(false);
  });

  it('emails are NFC, and domains are compared in their ASCII (punycode) form', () => {
    const nfc = 'jos\u00e9@example.org';
    const nfd = 'jose\u0301@example.org';
    expect(normalizeEmail(nfd)).toEqual({ ok: true, value: nfc });
    expect(normalizeEmail(nfc)).toEqual({ ok: true, value: nfc });
    expect(normalizeEmail('Anna@M\u00fcnchen.de')).toEqual({ ok: true, value: 'anna@xn--mnchen-3ya.de' });
    expect(normalizeEmail('anna@xn--mnchen-3ya.de')).toEqual({ ok: true, value: 'anna@xn--mnchen-3ya.de' });
    expect(normalizeEmail('anna@MU\u0308NCHEN.DE')).toEqual({ ok: true, value: 'anna@xn--mnchen-3ya.de' });
    expect(normalizeEmail('anna@bad domain.de')).toMatchObject({ ok: false });
  });

  it('a value that did not decode (U+FFFD) is never an email', () => {
    expect(normalizeEmail('jos\ufffd@example.org')).toEqual({ ok: false, reason: expect.stringMatching(/U\+FFFD/) });
  });

  it('impossible calendar dates are refused, not rolled over to the next month', () => {
    expect(normalizeTimestamp('2024-02-30')).toEqual({ ok: false, reason: 'not a calendar date' });
    expect(normalizeTimestamp('2024-02-30 10:00:00')).toEqual({ ok: false, reason: 'not a calendar date' });
    expect(normalizeTimestamp('2024-02-31T10:00:00+02:00')).toEqual({ ok: false, reason: 'not a calendar date' });
    expect(normalizeTimestamp('2023-02-29')).toEqual({ ok: false, reason: 'not a calendar date' });
    expect(normalizeTimestamp('2024-02-29')).toEqual({ ok: true, value: '2024-02-29T00:00:00.000Z' });
    expect(normalizeTimestamp('2024-03-01 24:10')).toEqual({ ok: false, reason: 'not a calendar date' });
    expect(normalizeTimestamp('February 30, 2024')).toEqual({ ok: false, reason: 'not a calendar date' });
  });

  it('day/month order is read by the declared dateFormat; without one an ambiguous date is refused, never guessed', () => {
    expect(normalizeTimestamp('01.05.2024')).toEqual({ ok: false, reason: expect.stringMatching(/ambiguous day\/month order.*dateFormat/) });
    expect(normalizeTimestamp('01.05.2024', { dateFormat: 'DD.MM.YYYY' })).toEqual({ ok: true, value: '2024-05-01T00:00:00.000Z' });
    expect(normalizeTimestamp('01/05/2024 10:20', { dateFormat: 'MM/DD/YYYY' })).toEqual({ ok: true, value: '2024-01-05T10:20:00.000Z' });
    // One reading only: not a guess.
    expect(normalizeTimestamp('13.05.2024')).toEqual({ ok: true, value: '2024-05-13T00:00:00.000Z' });
    expect(normalizeTimestamp('13/05/2024', { dateFormat: 'MM/DD/YYYY' })).toEqual({ ok: false, reason: 'not a calendar date' });
    expect(normalizeTimestamp('01.05.2024', { dateFormat: 'YYYY-MM-DD' })).toEqual({ ok: false, reason: expect.stringMatching(/does not match dateFormat YYYY-MM-DD/) });
    expect(normalizeTimestamp('01.05.24', { dateFormat: 'DD.MM.YYYY' })).toEqual({ ok: false, reason: expect.stringMatching(/two-digit year/) });
    // ISO and Unix times are unambiguous whatever the stream declares.
    expect(normalizeTimestamp('2024-05-01T10:00:00Z', { dateFormat: 'MM/DD/YYYY' })).toEqual({ ok: true, value: '2024-05-01T10:00:00.000Z' });
  });

  it('text that only looks like a date is refused; out-of-range numbers do not throw', () => {
    expect(normalizeTimestamp('foo 1')).toEqual({ ok: false, reason: 'not a date or time' });
    expect(normalizeTimestamp('1')).toEqual({ ok: false, reason: 'not a date or time' });
    expect(normalizeTimestamp(1e20)).toEqual({ ok: false, reason: 'not a date or time' });
    expect(normalizeTimestamp(Number.NaN)).toEqual({ ok: false, reason: 'not a date or time' });
    expect(normalizeTimestamp('Fri, 01 Mar 2024 10:20:30 GMT')).toEqual({ ok: true, value: '2024-03-01T10:20:30.000Z' });
    expect(normalizeTimestamp('March 1, 2024 10:20:30')).toEqual({ ok: true, value: '2024-03-01T10:20:30.000Z' });
    expect(normalizeTimestamp('2024/05/01')).toEqual({ ok: true, value: '2024-05-01T00:00:00.000Z' });
    expect(normalizeTimestamp('2024-03-01T10:20:30.5+0130')).toEqual({ ok: true, value: '2024-03-01T08:50:30.500Z' });
  });
});
