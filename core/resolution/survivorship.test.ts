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
