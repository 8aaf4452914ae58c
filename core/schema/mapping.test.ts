import { describe, expect, it } from 'vitest';
import { mappingSchema, resolutionSchema } from '../config/schema.js';
import { compileBlocklist } from '../resolution/rules.js';
import { ConfigError } from '../errors.js';
import { compileMapping, type MappingContext } from './mapping.js';
import type { MappingConfig } from '../config/schema.js';

// Issue 8 regressions at mapping time: each case lost or corrupted data without a word before.

const READ_TIME = '2026-01-01T00:00:00.000Z';
const base: MappingContext = { source: 'crm', stream: 'people', kind: 'identify', primaryKey: ['id'], defaultRegion: 'US', now: () => READ_TIME };

function mapper(mapping: Record<string, unknown>, more: Partial<MappingContext> = {}) {
  return compileMapping(mappingSchema.parse(mapping), { ...base, ...more }).map;
}

describe('mapping: primary keys', () => {
  const map = mapper({ identifiers: { email: 'email' } });
  const row = (id: unknown) => map({ id, email: 'a@x.com' });

  it('an object or a list as primary key is a dead letter with the reason, not "[object Object]" or "1,2"', () => {
    expect(row({ a: 1 })).toEqual({ ok: false, reason: 'primary key id is an object or a list, not a single value' });
    expect(row([1, 2])).toEqual({ ok: false, reason: 'primary key id is an object or a list, not a single value' });
    expect(mapper({ identifiers: { email: 'email' } }, { primaryKey: ['id', 'part'] })({ id: 1, part: { x: 1 }, email: 'a@x.com' })).toEqual({
      ok: false,
      reason: 'primary key part is an object or a list, not a single value',
    });
  });

  it('non-integer numbers, integers beyond 2^53 and booleans are refused: they cannot be compared as keys', () => {
    expect(row(1.5)).toEqual({ ok: false, reason: expect.stringMatching(/^primary key id is a non-integer number \(1\.5\)/) });
    expect(row(2 ** 53)).toEqual({ ok: false, reason: expect.stringMatching(/^primary key id is an integer beyond 2\^53/) });
    expect(row(Number.NaN)).toEqual({ ok: false, reason: expect.stringMatching(/^primary key id is a non-integer number/) });
    expect(row(true)).toEqual({ ok: false, reason: 'primary key id is a boolean, not a string or an integer' });
  });

  it('integers are their decimal text, so the number 1 (JSON 1 or 1.0) is key "1" and never collides with the text "1.0"', () => {
    const key = (id: unknown) => {
      const r = row(id);
      return r.ok ? r.record.recordId : r.reason;
    };
    expect(key(1)).toBe('1');
    expect(key(JSON.parse('1.0'))).toBe('1');
    expect(key('1.0')).toBe('1.0');
    expect(key(-7)).toBe('-7');
    expect(key(12345678901234567890n)).toBe('12345678901234567890');
    expect(key(new Date('2024-05-01T00:00:00Z'))).toBe('2024-05-01T00:00:00.000Z');
    expect(key(new Date(Number.NaN))).toMatch(/^primary key id is an invalid date/);
    expect(mapper({ identifiers: { email: 'email' } }, { primaryKey: ['a', 'b'] })({ a: 1, b: 'x|y', email: 'a@x.com' })).toMatchObject({
      ok: true,
      record: { recordId: '["1","x|y"]' },
    });
  });
});

describe('mapping: text that did not decode, NUL bytes', () => {
  const map = mapper({ identifiers: { email: 'email', 'external_id.crm': 'crm' }, traits: { firstName: 'first', city: 'city' } });

  it('a value with U+FFFD is a field warning and never an identifier; a trait keeps it with the warning', () => {
    const r = map({ id: 1, email: 'jos\ufffd@x.com', crm: 'C\ufffd1', first: 'Jos\ufffd', city: 'Lyon' });
    expect(r).toEqual({ ok: false, recordId: '1', reason: expect.stringMatching(/^no usable identifier: email contains U\+FFFD.*; crm contains U\+FFFD/) });
    const ok = map({ id: 2, email: 'ann@x.com', crm: 'C\ufffd1', first: 'Jos\ufffd' });
    expect(ok.ok).toBe(true);
    if (!ok.ok) return;
    expect(ok.record.identifiers).toEqual([{ type: 'email', value: 'ann@x.com' }]);
    expect(ok.record.traits.firstName).toBe('Jos\ufffd');
    expect(ok.record.warnings).toEqual([
      { field: 'crm', value: 'C\ufffd1', reason: expect.stringMatching(/U\+FFFD/) },
      { field: 'first', value: 'Jos\ufffd', reason: expect.stringMatching(/U\+FFFD/) },
    ]);
  });

  it('NUL bytes are removed from identifiers and traits, with a warning each', () => {
    const r = map({ id: 3, email: 'ann@x.com\u0000', crm: 'C\u00001', first: 'Ann\u0000', city: 'Lyon' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.record.identifiers).toEqual([
      { type: 'email', value: 'ann@x.com', raw: 'ann@x.com\u0000' },
      { type: 'external_id', namespace: 'crm', value: 'C1' },
    ]);
    expect(r.record.traits).toMatchObject({ firstName: 'Ann', city: 'Lyon' });
    expect(r.record.warnings).toEqual([
      { field: 'email', value: 'ann@x.com', reason: 'NUL bytes removed' },
      { field: 'crm', value: 'C1', reason: 'NUL bytes removed' },
      { field: 'first', value: 'Ann', reason: 'NUL bytes removed' },
    ]);
  });
});

describe('mapping: observedAt', () => {
  const map = mapper({ identifiers: { email: 'email' }, observedAt: 'updated' });

  it('a missing or invalid observedAt falls back to the read time and says so on the record', () => {
    const missing = map({ id: 1, email: 'a@x.com', updated: '' });
    expect(missing).toMatchObject({ ok: true, record: { observedAt: READ_TIME, warnings: [{ field: 'updated', value: '', reason: 'observedAt missing; using read time' }] } });
    const garbage = map({ id: 2, email: 'a@x.com', updated: 'garbage' });
    expect(garbage).toMatchObject({
      ok: true,
      record: { observedAt: READ_TIME, warnings: [{ field: 'updated', value: 'garbage', reason: 'observedAt invalid (not a date or time); using read time' }] },
    });
    const feb30 = map({ id: 3, email: 'a@x.com', updated: '2024-02-30' });
    expect(feb30).toMatchObject({ ok: true, record: { observedAt: READ_TIME, warnings: [{ reason: 'observedAt invalid (not a calendar date); using read time' }] } });
  });

  it("an ambiguous day/month date is refused with a hint, and read by the stream's dateFormat when declared", () => {
    const r = map({ id: 1, email: 'a@x.com', updated: '01.05.2024' });
    expect(r).toMatchObject({ ok: true, record: { observedAt: READ_TIME, warnings: [{ value: '01.05.2024', reason: expect.stringMatching(/ambiguous day\/month order.*dateFormat/) }] } });
    const dmy = mapper({ identifiers: { email: 'email' }, observedAt: 'updated' }, { dateFormat: 'DD.MM.YYYY' });
    const d = dmy({ id: 1, email: 'a@x.com', updated: '01.05.2024' });
    expect(d).toMatchObject({ ok: true, record: { observedAt: '2024-05-01T00:00:00.000Z' } });
    expect(d.ok && d.record.warnings).toBeFalsy();
  });

  it('without an observedAt mapping the read time is used, silently (it is the documented default)', () => {
    const r = mapper({ identifiers: { email: 'email' } })({ id: 1, email: 'a@x.com' });
    expect(r).toMatchObject({ ok: true, record: { observedAt: READ_TIME } });
    expect(r.ok && r.record.warnings).toBeFalsy();
  });
});

describe('mapping: one rule for unusable identifiers (empty, invalid or blocked)', () => {
  const blocked = compileBlocklist(resolutionSchema.parse({ blocked: { email: { exact: ['support@company.com'], regex: [] } } }));
  const map = mapper({ identifiers: { email: 'email', phone: 'phone' } }, { blocked });

  it('a record whose only identifier is blocked is a dead letter with the reason, like an empty one', () => {
    expect(map({ id: 1, email: 'test@example.com' })).toEqual({
      ok: false,
      recordId: '1',
      reason: expect.stringMatching(/^no usable identifier: email blocked value "test@example\.com".*; phone empty$/),
    });
    expect(map({ id: 2, email: 'Support@Company.com' })).toEqual({ ok: false, recordId: '2', reason: 'no usable identifier: email blocked value "support@company.com"; phone empty' });
    expect(map({ id: 3, email: '', phone: null })).toEqual({ ok: false, recordId: '3', reason: 'no usable identifier: email, phone empty' });
    expect(map({ id: 4, email: 'nope', phone: '+1 415 555 5555' })).toEqual({
      ok: false,
      recordId: '4',
      reason: expect.stringMatching(/^no usable identifier: email not an email address; phone blocked value "\+14155555555"/),
    });
  });

  it('a blocked value beside a usable one stays on the record for the resolver to refuse and record', () => {
    const r = map({ id: 5, email: 'test@example.com', phone: '(415) 555-2671' });
    expect(r).toMatchObject({ ok: true, record: { identifiers: [{ type: 'email', value: 'test@example.com' }, { type: 'phone', value: '+14155552671' }] } });
  });

  it('the blocked phone list still applies to a number with an extension', () => {
    expect(map({ id: 6, phone: '+1 415 555 5555 ext 3' })).toMatchObject({ ok: false, reason: expect.stringMatching(/phone blocked value/) });
  });

  it("the seam for the identity-resolution issue's `unidentified: profile` policy keeps the record", () => {
    const keep = mapper({ identifiers: { email: 'email' } }, { blocked, unidentified: 'profile' });
    expect(keep({ id: 7, email: 'test@example.com' })).toMatchObject({ ok: true, record: { recordId: '7', identifiers: [{ value: 'test@example.com' }] } });
  });
});

describe('mapping: a field or a name __proto__', () => {
  // Rows as the csv reader (Object.fromEntries) and the jsonl reader (JSON.parse) make them: __proto__ is an own key.
  const csvRow = Object.fromEntries([['id', '1'], ['email', 'a@x.com'], ['__proto__', 'P-7']]);
  const jsonRow = JSON.parse('{"id":"1","email":"a@x.com","meta":{"__proto__":{"email":"evil@x.com"},"code":"M"}}') as Record<string, unknown>;

  it('a CSV column named __proto__ maps into a trait like any column', () => {
    const r = mapper({ identifiers: { email: 'email' }, traits: { legacy: '__proto__' } })(csvRow);
    expect(r).toMatchObject({ ok: true, record: { traits: { legacy: 'P-7', email: 'a@x.com' } } });
  });

  it('a nested JSON field __proto__ is kept as an own key of the trait value, and read by a dotted path', () => {
    const r = mapper({ identifiers: { email: 'email' }, traits: { meta: 'meta', inner: 'meta.__proto__' } })(jsonRow);
    if (!r.ok) throw new Error(r.reason);
    const traits = r.record.traits;
    expect(Object.getPrototypeOf(traits)).toBe(Object.prototype);
    expect(Object.keys(traits)).toEqual(['meta', 'inner', 'email']);
    expect(Object.keys(traits.meta as object)).toEqual(['__proto__', 'code']);
    expect(traits.inner).toEqual({ email: 'evil@x.com' });
    expect(JSON.stringify(traits)).toBe('{"meta":{"__proto__":{"email":"evil@x.com"},"code":"M"},"inner":{"email":"evil@x.com"},"email":"a@x.com"}');
  });

  it('a trait, event property or consent purpose named __proto__ is refused when the mapping is compiled (it set the traits prototype)', () => {
    // Bypassing the schema, as a direct caller does: zod drops such a key without a word (config/load.ts refuses it in YAML).
    const compile = (json: string) => () => compileMapping(JSON.parse(json) as MappingConfig, base);
    for (const json of [
      '{"identifiers":{"email":"email"},"traits":{"__proto__":"meta"}}',
      '{"identifiers":{"email":"email"},"traits":{},"event":{"name":"e","properties":{"__proto__":"meta"}}}',
      '{"identifiers":{"email":"email"},"traits":{},"consent":{"__proto__":"meta"}}',
    ]) {
      expect(compile(json)).toThrow(ConfigError);
      expect(compile(json)).toThrow(/names a key __proto__/);
    }
  });
});
