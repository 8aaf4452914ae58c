import { describe, expect, it } from 'vitest';
import {
  coreNormalizers,
  DEFAULT_STREAMS,
  generatePeople,
  reachableTruth,
  type GeneratedDataset,
  type SourceRows,
} from '../../bench/quality/generate.js';
import { scoreClustering } from '../../bench/quality/metrics.js';

/** A hand-made dataset: rows plus the person each row belongs to, in the generator's shape. */
function dataset(rows: SourceRows, persons: Record<keyof SourceRows, string[]>, trapPhones: string[] = []): GeneratedDataset {
  const keys = {
    crm: rows.crm.map((r) => `crm/customers/${r.crm_id}`),
    orders: rows.orders.map((r) => `orders/orders/${r.order_id}`),
    support: rows.support.map((r) => `support/tickets/${r.ticket_id}`),
    newsletter: rows.newsletter.map((_r, i) => `newsletter/subscribers/n${i}`),
  };
  const truth = new Map<string, string>();
  for (const s of ['crm', 'orders', 'support', 'newsletter'] as const) keys[s].forEach((k, i) => truth.set(k, persons[s][i]));
  return {
    seed: 0,
    streams: { ...DEFAULT_STREAMS },
    rows,
    keys,
    truth,
    people: [],
    traps: { emails: ['test@test.com', 'support@company.com'], phones: trapPhones.map((value) => ({ value })), records: new Map() },
    stats: {
      people: 0,
      rows: { crm: 0, orders: 0, support: 0, newsletter: 0 },
      records: 0,
      peopleBySourceCount: [0, 0, 0, 0],
      peopleWithTwoEmails: 0,
      households: 0,
      peopleInHouseholds: 0,
      sharedMailboxes: 0,
      crmDuplicates: 0,
      trapRecords: 0,
      trapRecordsByKind: { 'placeholder-email': 0, 'placeholder-phone': 0, 'household-phone': 0, 'shared-mailbox': 0 },
    },
  };
}

const at = '2024-01-01T00:00:00Z';

describe('reachableTruth on a hand-made dataset', () => {
  const d = dataset(
    {
      crm: [
        { crm_id: 'C1', first_name: 'Marie', last_name: 'Martin', email: 'marie.martin@orange.fr', phone: '06 12 34 56 78', country: 'FR', updated_at: at },
        { crm_id: 'C2', first_name: 'Paul', last_name: 'Martin', email: 'test@test.com', phone: '+33 1 42 68 53 00', country: 'FR', updated_at: at },
      ],
      orders: [
        { order_id: 'O1', email: '  Marie.Martin@Orange.FR ', amount: 10, currency: 'EUR', ordered_at: at },
        { order_id: 'O2', email: 'twin@example.org', amount: 10, currency: 'EUR', ordered_at: at },
        { order_id: 'O3', email: 'twin@example.org', amount: 10, currency: 'EUR', ordered_at: at },
      ],
      support: [
        // Same household landline as Paul's CRM row, but it is a trap: no link.
        { ticket_id: 'T1', email: null, phone: '+33142685300', name: 'Marie Martin', created_at: at },
        // Marie's mobile in international form: links to C1.
        { ticket_id: 'T2', email: null, phone: '0033612345678', name: 'Marie', created_at: at },
        // National form with no region to read it in: unreachable.
        { ticket_id: 'T3', email: null, phone: '06 12 34 56 78', name: 'Marie', created_at: at },
        { ticket_id: 'T4', email: 'support@company.com', phone: null, name: 'Ann', created_at: at },
      ],
      newsletter: [
        { email: 'test@test.com', first_name: 'Zoe', subscribed_at: at, consent_marketing: true },
        { email: 'support@company.com', first_name: 'Bob', subscribed_at: at, consent_marketing: true },
      ],
    },
    {
      crm: ['marie', 'paul'],
      // twin@example.org is typed by two different people but not declared a trap: still never a link.
      orders: ['marie', 'x', 'y'],
      support: ['marie', 'marie', 'marie', 'ann'],
      newsletter: ['zoe', 'bob'],
    },
    ['+33142685300'],
  );
  const r = reachableTruth(d, coreNormalizers);
  const same = (a: string, b: string) => r.get(a) === r.get(b);

  it('links records of one person through normalized emails and phones', () => {
    expect(same('crm/customers/C1', 'orders/orders/O1')).toBe(true);
    expect(same('crm/customers/C1', 'support/tickets/T2')).toBe(true);
  });

  it('never links through trap values or values two people share', () => {
    expect(same('crm/customers/C1', 'support/tickets/T1')).toBe(false);
    expect(same('orders/orders/O2', 'orders/orders/O3')).toBe(false);
    expect(same('crm/customers/C2', 'newsletter/subscribers/n0')).toBe(false);
    expect(same('support/tickets/T4', 'newsletter/subscribers/n1')).toBe(false);
  });

  it('leaves a national phone without region unreachable', () => {
    expect(same('crm/customers/C1', 'support/tickets/T3')).toBe(false);
  });

  it('covers every record exactly once', () => {
    expect([...r.keys()].sort()).toEqual([...d.truth.keys()].sort());
    // 11 records. marie: {C1,O1,T2}, {T1}, {T3}; C2, O2, O3, T4, n0, n1 alone: 3 + 6 clusters.
    expect(new Set(r.values()).size).toBe(3 + 6);
  });
});

describe('reachableTruth on generated data', () => {
  const d = generatePeople({ people: 3000, seed: 42 });
  const reachable = reachableTruth(d, coreNormalizers);

  it('is a refinement of the truth: never joins two people', () => {
    const s = scoreClustering(reachable, d.truth);
    expect(s.pairwise.precision).toBe(1);
    expect(s.bcubed.precision).toBe(1);
    // Some links are out of reach (no identifier, placeholders, unreadable phones), most are not.
    expect(s.pairwise.recall).toBeLessThan(1);
    expect(s.pairwise.recall).toBeGreaterThan(0.6);
  });

  it('depends on the normalizer it is given', () => {
    const noPhones = reachableTruth(d, { email: coreNormalizers.email, phone: () => null });
    expect(new Set(noPhones.values()).size).toBeGreaterThan(new Set(reachable.values()).size);
  });
});
