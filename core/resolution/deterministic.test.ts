import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolutionSchema } from '../config/schema.js';
import type { CanonicalRecord, Identifier } from '../schema/canonical.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { DeterministicResolver } from './deterministic.js';
import { captureLogger } from '../../test/kit/context.js';

let store: SqliteStore;
let clock = 0;
let ids = 0;

beforeEach(() => {
  store = new SqliteStore(':memory:');
  clock = Date.parse('2026-01-01T00:00:00Z');
  ids = 0;
});
afterEach(() => store.close());

function rec(recordId: string, identifiers: Array<Partial<Identifier> & { type: string; value: string }>, more: Partial<CanonicalRecord> = {}): CanonicalRecord {
  return {
    kind: 'identify',
    source: 'crm',
    stream: 'customers',
    recordId,
    observedAt: '2026-01-01T00:00:00.000Z',
    identifiers: identifiers as Identifier[],
    traits: {},
    ...more,
  };
}

/** Resolve one batch against the real store and commit it, as the engine does. */
async function run(records: CanonicalRecord[], rules: Record<string, unknown> = {}) {
  const resolver = new DeterministicResolver();
  const ctx = {
    logger: captureLogger(),
    rules: resolutionSchema.parse(rules),
    now: () => new Date((clock += 1000)),
    newProfileId: () => `p${String(++ids).padStart(3, '0')}`,
  };
  const result = await resolver.resolve(ctx, records, store);
  await store.commitBatch({ sync: 'crm', records, resolution: result, deadLetters: [], checkpoints: [], destinations: ['hook'] });
  return result;
}

async function profileOf(recordId: string, source = 'crm', stream = 'customers') {
  const r = await store.existingRecords([`${source}/${stream}/${recordId}`]);
  return r.get(`${source}/${stream}/${recordId}`)!.profileId;
}

describe('deterministic resolver', () => {
  it('links records sharing an identifier, across batches, and the oldest profile survives a merge', async () => {
    await run([rec('1', [{ type: 'email', value: 'ann@x.com' }])]);
    await run([rec('2', [{ type: 'phone', value: '+14155552671' }])]);
    expect(await profileOf('1')).toBe('p001');
    expect(await profileOf('2')).toBe('p002');
    const res = await run([rec('3', [{ type: 'phone', value: '+14155552671' }, { type: 'email', value: 'ann@x.com' }])]);
    expect(res.merges).toHaveLength(1);
    expect(res.merges[0]).toMatchObject({ survivor: 'p001', absorbed: 'p002', rule: 'mergeOn:phone' });
    for (const id of ['1', '2', '3']) expect(await profileOf(id)).toBe('p001');
    expect(await store.resolveProfileId('p002')).toBe('p001');
    expect((await store.profileDocument('p001'))!.aliases).toEqual(['p002']);
    // Destinations hear about the survivor and which ids it absorbed.
    const outbox = await store.pendingOutbox('hook', 10);
    expect(outbox.find((e) => e.profileId === 'p001')!.mergedFrom).toEqual(['p002']);
    expect(outbox.find((e) => e.profileId === 'p002')).toBeUndefined();
  });

  it('never links on placeholder values (default blocklist) and records why', async () => {
    await run([
      rec('1', [{ type: 'email', value: 'test@test.com' }, { type: 'external_id', namespace: 'crm', value: '1' }]),
      rec('2', [{ type: 'email', value: 'test@test.com' }, { type: 'external_id', namespace: 'crm', value: '2' }]),
      rec('3', [{ type: 'phone', value: '+10000000000' }, { type: 'external_id', namespace: 'crm', value: '3' }]),
      rec('4', [{ type: 'phone', value: '+10000000000' }, { type: 'external_id', namespace: 'crm', value: '4' }]),
      rec('5', [{ type: 'email', value: 'noreply@shop.com' }, { type: 'external_id', namespace: 'crm', value: '5' }]),
      rec('6', [{ type: 'email', value: 'noreply@shop.com' }, { type: 'external_id', namespace: 'crm', value: '6' }]),
    ]);
    const profiles = new Set(await Promise.all(['1', '2', '3', '4', '5', '6'].map((r) => profileOf(r))));
    expect(profiles.size).toBe(6);
    const ex = await store.explain(await profileOf('1'));
    expect(ex.refused[0].reason).toMatch(/blocked value "test@test.com"/);
  });

  it('a household landline does not merge family members who have their own CRM ids (limit external_id: 1)', async () => {
    const landline = { type: 'phone', value: '+33145678901' };
    await run([
      rec('1', [{ type: 'external_id', namespace: 'crm', value: 'c1' }, { type: 'email', value: 'marc@x.fr' }, landline]),
      rec('2', [{ type: 'external_id', namespace: 'crm', value: 'c2' }, { type: 'email', value: 'julie@x.fr' }, landline]),
    ]);
    expect(await profileOf('1')).not.toBe(await profileOf('2'));
    const ex = await store.explain(await profileOf('2'));
    expect(ex.refused).toEqual([
      expect.objectContaining({ identifierKey: 'phone\u0000+33145678901', reason: 'limit: more than 1 external_id.crm values in one profile' }),
    ]);
  });

  it('drops the lower-priority identifier when a merge would break a limit (phone below email)', async () => {
    await run([rec('1', [{ type: 'email', value: 'a@x.com' }, { type: 'phone', value: '+14155550101' }])]);
    await run([rec('2', [{ type: 'email', value: 'b@x.com' }, { type: 'phone', value: '+14155550102' }])]);
    // Record 3 carries a's email and b's phone; with at most one email per profile, the phone link is refused.
    const res = await run([rec('3', [{ type: 'phone', value: '+14155550102' }, { type: 'email', value: 'a@x.com' }])], { limits: { email: 1 } });
    expect(res.merges).toEqual([]);
    expect(await profileOf('3')).toBe(await profileOf('1'));
    expect(res.refused).toEqual([expect.objectContaining({ identifierKey: 'phone\u0000+14155550102', reason: 'limit: more than 1 email values in one profile' })]);
  });

  it('a value presented by more profiles than the threshold stops linking (shared support mailbox)', async () => {
    const shared = { type: 'email', value: 'support@acme.com' };
    const batch = [1, 2, 3, 4, 5, 6].map((i) => rec(`t${i}`, [{ type: 'external_id', namespace: 'crm', value: `c${i}` }, shared]));
    const res = await run(batch, { genericThreshold: 2 });
    const profiles = new Set(await Promise.all(batch.map((r) => profileOf(r.recordId))));
    expect(profiles.size).toBe(6);
    expect(res.genericValues.map((g) => g.identifierKey)).toEqual(['email\u0000support@acme.com']);
    // And later records carrying it, with nothing else, do not join anyone's profile.
    await run([rec('t7', [shared, { type: 'phone', value: '+14155550199' }])], { genericThreshold: 2 });
    expect(profiles.has(await profileOf('t7'))).toBe(false);
  });

  it('caps the number of records in one profile', async () => {
    const email = { type: 'email', value: 'big@x.com' };
    await run([1, 2, 3].map((i) => rec(`r${i}`, [email])), { maxRecordsPerProfile: 2 });
    expect(await profileOf('r1')).toBe(await profileOf('r2'));
    expect(await profileOf('r3')).not.toBe(await profileOf('r1'));
    const ex = await store.explain(await profileOf('r3'));
    expect(ex.refused[0].reason).toBe('cap: more than 2 records in one profile');
  });

  it('applies survivorship per trait and computes traits from events', async () => {
    const rules = {
      traits: {
        firstName: { strategy: 'most_recent' },
        signupSource: { strategy: 'first_seen' },
        lastName: { strategy: 'source_priority', sources: ['crm', 'shop'] },
        city: { strategy: 'most_frequent' },
        tags: { strategy: 'union' },
      },
      computed: {
        orders_count: { event: 'order', op: 'count' },
        lifetime_value: { event: 'order', op: 'sum', property: 'revenue' },
        last_order_at: { event: 'order', op: 'last_time' },
      },
    };
    const email = { type: 'email', value: 'ann@x.com' };
    await run(
      [
        rec('1', [email], { observedAt: '2025-01-01T00:00:00.000Z', traits: { firstName: 'Anne', signupSource: 'crm', lastName: 'Martin', city: 'Lyon', tags: ['vip'] } }),
        rec('2', [email], { source: 'shop', observedAt: '2025-06-01T00:00:00.000Z', traits: { firstName: 'Ann', signupSource: 'shop', lastName: 'MARTIN-typo', city: 'Paris', tags: ['b2b'] } }),
        rec('3', [email], { source: 'shop', observedAt: '2025-07-01T00:00:00.000Z', traits: { city: 'Lyon' } }),
        rec('o1', [email], { kind: 'track', stream: 'orders', observedAt: '2025-02-01T00:00:00.000Z', event: { name: 'order', properties: {}, revenue: 10.5 } }),
        rec('o2', [email], { kind: 'track', stream: 'orders', observedAt: '2025-03-01T00:00:00.000Z', event: { name: 'order', properties: {}, revenue: 4.5 } }),
        rec('o3', [email], { kind: 'track', stream: 'orders', observedAt: '2025-04-01T00:00:00.000Z', event: { name: 'refund', properties: {}, revenue: -4 } }),
      ],
      rules,
    );
    const doc = (await store.profileDocument('p001'))!;
    expect(doc.traits).toEqual({ firstName: 'Ann', signupSource: 'crm', lastName: 'Martin', city: 'Lyon', tags: ['vip', 'b2b'] });
    expect(doc.computed).toEqual({ orders_count: 2, lifetime_value: 15, last_order_at: '2025-03-01T00:00:00.000Z' });
    // A record read again with new values replaces its old contribution instead of adding to it.
    await run([rec('o2', [email], { kind: 'track', stream: 'orders', observedAt: '2025-03-01T00:00:00.000Z', event: { name: 'order', properties: {}, revenue: 9.5 } })], rules);
    const after = (await store.profileDocument('p001'))!;
    expect(after.computed).toEqual({ orders_count: 2, lifetime_value: 20, last_order_at: '2025-03-01T00:00:00.000Z' });
    expect(after.records).toHaveLength(6);
  });

  it('merging two profiles combines their traits by the same rules', async () => {
    const rules = { computed: { n: { op: 'count' } } };
    await run([rec('1', [{ type: 'email', value: 'a@x.com' }], { kind: 'track', event: { name: 'e', properties: {} }, traits: { firstName: 'Ann' }, observedAt: '2025-01-01T00:00:00.000Z' })], rules);
    await run([rec('2', [{ type: 'phone', value: '+14155550101' }], { kind: 'track', event: { name: 'e', properties: {} }, traits: { firstName: 'Anne' }, observedAt: '2025-05-01T00:00:00.000Z' })], rules);
    await run([rec('3', [{ type: 'email', value: 'a@x.com' }, { type: 'phone', value: '+14155550101' }], { observedAt: '2024-01-01T00:00:00.000Z' })], rules);
    const doc = (await store.profileDocument('p001'))!;
    expect(doc.traits.firstName).toBe('Anne');
    expect(doc.computed).toEqual({ n: 2 });
    expect(doc.identifiers.map((i) => i.type).sort()).toEqual(['email', 'phone']);
  });
});
