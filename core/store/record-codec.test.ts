import { describe, expect, it } from 'vitest';
import { mappingSchema } from '../config/schema.js';
import { compileMapping, type MappingContext } from '../schema/mapping.js';
import type { CanonicalRecord } from '../schema/canonical.js';
import { decodeRecord, encodeRecord, identifiersOfBody } from './record-codec.js';
import { expiredRecord } from './sqlite-forget.js';

const READ_TIME = '2026-01-01T00:00:00.000Z';

function mapped(kind: 'identify' | 'track', mapping: Record<string, unknown>, row: Record<string, unknown>): CanonicalRecord {
  const ctx: MappingContext = { source: 'crm', stream: 'people', kind, primaryKey: ['id'], defaultRegion: 'US', now: () => READ_TIME };
  const r = compileMapping(mappingSchema.parse(mapping), ctx).map(row);
  if (!r.ok) throw new Error(r.reason);
  return r.record;
}

/** The row a record is stored as: the columns sqlite-store.ts writes from it, and the body. */
function stored(r: CanonicalRecord) {
  return { kind: r.kind, source: r.source, stream: r.stream, record_id: r.recordId, observed_at: r.observedAt, body: encodeRecord(r) };
}

const people = {
  identifiers: { email: 'email', phone: { field: 'phone', regionField: 'country' }, 'external_id.crm': 'id' },
  traits: { firstName: 'first', lastName: 'last', prefs: 'prefs' },
  observedAt: 'updated',
  consent: { newsletter: 'optin' },
};

const cases: Array<[string, CanonicalRecord]> = [
  ['identify with an external id namespace', mapped('identify', people, { id: 7, email: 'ann@x.org', phone: '+14155550101', country: 'US', first: 'Ann', updated: '2026-01-02' })],
  [
    'identify with raw values, consent and nested traits',
    mapped('identify', people, {
      id: 'c-1',
      email: ' ANN@X.org ',
      phone: '(415) 555-0102',
      country: 'US',
      first: 'ann',
      prefs: { colours: ['red', { shade: 'dark' }], size: 4, ok: true, none: null },
      optin: 'yes',
      updated: '2026-01-02T10:00:00+02:00',
    }),
  ],
  [
    'identify with warnings (invalid phone and time)',
    mapped('identify', people, { id: 8, email: 'bob@x.org', phone: 'not a phone', country: 'US', updated: 'yesterday-ish' }),
  ],
  [
    'unicode in every part',
    mapped('identify', people, { id: 'ü-9 😀', email: 'chloé@bücher.example', first: 'Chloé', last: 'Müller \u2028 "quoted" \\ back', updated: '2026-01-03' }),
  ],
  [
    'track with an event',
    mapped(
      'track',
      { identifiers: { email: 'email' }, observedAt: 'at', event: { name: 'order_completed', properties: { amount: 'amount', items: 'items' }, revenue: 'amount', currency: 'cur' } },
      { id: 'o1', email: 'USER1@Mail-Box.net', amount: '12.50', cur: 'eur', items: [{ sku: 'a', n: 2 }], at: '2026-02-01T12:00:00Z' },
    ),
  ],
  [
    'track with a bad revenue (warning) and no traits',
    mapped('track', { identifiers: { anonymous_id: 'anon' }, event: { name: 'page_viewed', properties: {}, revenue: 'amount' } }, { id: 'p1', anon: 'a-1', amount: 'lots' }),
  ],
  [
    'a custom identifier type, a mapped email trait that differs from the identifier',
    {
      kind: 'identify',
      source: 'app',
      stream: 'users',
      recordId: '1',
      observedAt: READ_TIME,
      identifiers: [{ type: 'loyalty_card', value: 'L-1' }, { type: 'email', value: 'a@x.org', namespace: 'work' }, { type: 'email', value: 'b@x.org' }],
      traits: { email: 'other@x.org', phone: '+1' },
    },
  ],
  [
    'an expired track record (expiredAt, properties cut)',
    expiredRecord(
      mapped('track', { identifiers: { email: 'email' }, event: { name: 'order_completed', properties: { amount: 'amount' } } }, { id: 'o2', email: 'A@x.org', amount: 3 }),
      [],
      '2026-05-01T00:00:00.000Z',
    ),
  ],
];

describe('record codec', () => {
  it.each(cases)('gives back exactly the record, key order included: %s', (_name, r) => {
    const row = stored(r);
    expect(row.body).not.toContain('"kind"');
    const back = decodeRecord(row);
    expect(back).toStrictEqual(r);
    expect(JSON.stringify(back)).toBe(JSON.stringify(r));
    expect(identifiersOfBody(row.body)).toStrictEqual(r.identifiers);
  });

  it('the cases cover what the codec treats specially', () => {
    const all = cases.map(([, r]) => r);
    expect(all.some((r) => r.warnings?.length)).toBe(true);
    expect(all.some((r) => r.consent?.newsletter === true)).toBe(true);
    expect(all.some((r) => r.identifiers.some((i) => i.raw !== undefined))).toBe(true);
    expect(all.some((r) => r.identifiers.some((i) => i.namespace !== undefined))).toBe(true);
    expect(all.some((r) => typeof r.traits.prefs === 'object')).toBe(true);
    // Traits mapping filled from the identifiers, left out of the body and rebuilt.
    const filled = stored(cases[0][1]);
    expect(cases[0][1].traits).toMatchObject({ email: 'ann@x.org', phone: '+14155550101' });
    expect(filled.body).toContain('"u":{"firstName":"Ann"}');
  });

  it('warnings and expiredAt stay readable by SQL paths ($.warnings, $.expiredAt)', () => {
    const warned = JSON.parse(stored(cases[2][1]).body) as Record<string, unknown>;
    expect(warned.warnings).toStrictEqual(cases[2][1].warnings);
    expect(stored(cases[2][1]).body).toContain('"warnings":[{');
    expect((JSON.parse(stored(cases[7][1]).body) as Record<string, unknown>).expiredAt).toBe('2026-05-01T00:00:00.000Z');
  });

  it('is well under half the plain JSON on the records of `bench -- pipeline`', () => {
    const bench = [
      mapped(
        'identify',
        { identifiers: { email: 'email', phone: { field: 'phone', regionField: 'country' }, 'external_id.crm': 'id' }, traits: { firstName: 'f', lastName: 'l' }, observedAt: 'at' },
        { id: 0, f: 'Ann', l: 'Martin', email: 'user0@mail-box.net', phone: '+14152000000', country: 'US', at: '2026-01-01 10:00:00' },
      ),
      mapped(
        'track',
        { identifiers: { email: 'email' }, observedAt: 'at', event: { name: 'order_completed', properties: { amount: 'amount' }, revenue: 'amount', currency: 'cur' } },
        { id: 'o0', email: 'USER0@Mail-Box.net', amount: '0.99', cur: 'EUR', at: '2026-02-01T12:00:00Z' },
      ),
      mapped('identify', { identifiers: { email: 'email' }, traits: { firstName: 'f' }, observedAt: 'at', consent: { newsletter: 'c' } }, {
        id: 'n0',
        email: ' user0@mail-box.net ',
        f: 'Ann',
        c: 'yes',
        at: '2026-03-01T00:00:00Z',
      }),
    ];
    const plain = bench.reduce((n, r) => n + JSON.stringify(r).length, 0);
    const compact = bench.reduce((n, r) => n + stored(r).body.length, 0);
    expect(compact).toBeLessThan(plain * 0.4);
  });

  it('a record the compact form cannot give back exactly is stored as plain JSON, and read as it is', () => {
    const base = cases[0][1];
    const { kind, ...rest } = base;
    const odd: CanonicalRecord[] = [
      { ...rest, kind } as CanonicalRecord, // another key order
      { ...base, identifiers: [{ value: 'x@y.org', type: 'email' }] }, // identifier fields in another order
      { ...base, identifiers: [{ type: 'email', value: 'x@y.org', score: 1 } as never] }, // a field the codec does not know
      { ...base, identifiers: [{ type: 'email', value: 'x@y.org', namespace: 3 } as never] },
      { ...base, observedAt: 5 as never },
      { ...base, i: 1 } as never, // a key the compact body uses
      { ...base, u: 1 } as never,
    ];
    for (const r of odd) {
      const row = stored(r);
      expect(row.body).toBe(JSON.stringify(r));
      expect(JSON.stringify(decodeRecord(row))).toBe(JSON.stringify(r));
    }
  });

  it('traits are left whole unless filling them in again gives exactly the same', () => {
    const base = cases[6][1];
    const variants: Array<Record<string, unknown>> = [
      { email: 'a@x.org' }, // the first email identifier's value, as mapping fills it in
      { phone: '+1', email: 'a@x.org' }, // other order than the identifiers give
      { email: 'b@x.org' }, // not the first email's value
      { email: 'a@x.org', phone: '+1' }, // no phone identifier: phone was mapped, not filled
    ];
    for (const traits of variants) {
      const r = { ...base, traits };
      const back = decodeRecord(stored(r));
      expect(JSON.stringify(back)).toBe(JSON.stringify(r));
    }
    expect(stored({ ...base, traits: { email: 'a@x.org' } }).body).toContain('"u":{}');
    expect(stored({ ...base, traits: { email: 'b@x.org' } }).body).toContain('"t":{"email":"b@x.org"}');
  });
});
