import { describe, expect, it } from 'vitest';
import type { CanonicalRecord } from '../schema/canonical.js';
import { addDecimals, Survivorship } from './survivorship.js';
import type { ProfileState } from './types.js';

const profile = (): ProfileState => ({
  id: 'p1',
  createdAt: '2024-01-01T00:00:00Z',
  updatedAt: '2024-01-01T00:00:00Z',
  identifiers: [],
  recordCount: 0,
  traits: {},
  traitSources: {},
  computed: {},
  aggregates: {},
});

const order = (id: string, revenue: number, spent: string): CanonicalRecord => ({
  kind: 'track',
  source: 'shop',
  stream: 'orders',
  recordId: id,
  observedAt: `2024-01-0${id}T00:00:00Z`,
  identifiers: [],
  traits: { spent },
  event: { name: 'order', properties: {}, revenue },
});

describe('sums of money are exact decimals (issue 8 item 20)', () => {
  it('adds decimals without binary float noise, for computed and trait sums, and across merges', () => {
    const s = new Survivorship({
      traits: { spent: { strategy: 'sum' } },
      computed: { ltv: { event: 'order', op: 'sum', property: 'revenue' } },
    });
    const a = profile();
    s.apply(a, order('1', 0.1, '0.10'));
    s.apply(a, order('2', 0.2, '0.20'));
    expect(a.computed.ltv).toBe(0.3);
    expect(a.traits.spent).toBe(0.3);
    const b = { ...profile(), id: 'p2' };
    for (const [i, v] of [[3, 412.81], [4, 206.41], [5, 206.41]] as const) s.apply(b, order(String(i), v, String(v)));
    s.merge(a, b);
    expect(a.computed.ltv).toBe(825.93);
    expect(a.traits.spent).toBe(825.93);
  });

  it('addDecimals keeps the scale of the most precise operand and handles exponents and negatives', () => {
    expect(addDecimals(825.6, 0.03)).toBe(825.63);
    expect(addDecimals(1.005, -0.005)).toBe(1);
    expect(addDecimals(1e-7, 2e-7)).toBe(3e-7);
    expect(addDecimals(1e21, 1)).toBe(1e21 + 1);
    expect(addDecimals(-0.1, -0.2)).toBe(-0.3);
  });
});

describe('trait names that are Object.prototype keys', () => {
  const at = (day: number) => `2024-01-0${day}T00:00:00Z`;
  /** A record from JSON text, so a `__proto__` among its traits is an own key, as a JSONL row's is. */
  const fromJson = (id: string, day: number, traits: string, extra = ''): CanonicalRecord =>
    JSON.parse(`{"kind":"identify","source":"crm","stream":"people","recordId":"${id}","observedAt":"${at(day)}","identifiers":[],"traits":${traits}${extra}}`) as CanonicalRecord;
  const plain = (o: unknown) => Object.getPrototypeOf(o) === Object.prototype;

  it('a trait named __proto__ is kept as an own key (cell, value, source), never as a prototype, across records and merges', () => {
    const s = new Survivorship({ traits: {}, computed: {} });
    const a = profile();
    s.apply(a, fromJson('1', 1, '{"__proto__":{"city":"Oslo"},"name":"Ann"}'));
    expect(Object.keys(a.traits)).toEqual(['__proto__', 'name']);
    expect(a.traits.__proto__).toEqual({ city: 'Oslo' });
    expect(plain(a.traits) && plain(a.aggregates.traits)).toBe(true);
    expect(Object.keys(a.traitSources)).toEqual(['__proto__', 'name']);
    s.apply(a, fromJson('2', 2, '{"__proto__":{"city":"Bergen"}}'));
    expect(Object.getOwnPropertyDescriptor(a.traits, '__proto__')?.value).toEqual({ city: 'Bergen' });
    expect(a.traitSources.__proto__).toBe('crm/people/2');
    const b = { ...profile(), id: 'p2' };
    s.apply(b, fromJson('3', 3, '{"__proto__":{"city":"Tromsø"}}'));
    s.merge(a, b);
    expect(Object.getOwnPropertyDescriptor(a.traits, '__proto__')?.value).toEqual({ city: 'Tromsø' });
    expect(plain(a.traits) && plain(a.aggregates.traits)).toBe(true);
  });

  it('a consent purpose and a computed trait named __proto__ are kept as own keys', () => {
    const s = new Survivorship({ traits: {}, computed: JSON.parse('{"__proto__":{"op":"count"}}') });
    const a = profile();
    s.apply(a, { ...fromJson('1', 1, '{"name":"Ann"}', ',"consent":{"__proto__":true}'), kind: 'track', event: { name: 'order', properties: {} } });
    expect(Object.keys(a.traits.consent as object)).toEqual(['__proto__']);
    expect(Object.keys(a.computed)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(a.computed, '__proto__')?.value).toBe(1);
  });

  it('a trait named constructor or toString takes the default rule and its own cell (it took Object itself and crashed)', () => {
    const s = new Survivorship({ traits: {}, computed: {} });
    const a = profile();
    s.apply(a, fromJson('1', 1, '{"constructor":"ACME Build","toString":"x"}'));
    s.apply(a, fromJson('2', 2, '{"constructor":"ACME Build AS"}'));
    expect(a.traits).toStrictEqual({ constructor: 'ACME Build AS', toString: 'x' });
    const b = { ...profile(), id: 'p2' };
    s.apply(b, fromJson('3', 3, '{"constructor":"ACME"}'));
    s.merge(a, b);
    expect(a.traits.constructor).toBe('ACME');
  });
});
