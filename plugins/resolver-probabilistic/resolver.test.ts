import { describe, expect, it } from 'vitest';
import { resolutionSchema } from '../../core/config/schema.js';
import type { ResolverContext } from '../../core/resolution/types.js';
import type { CanonicalRecord } from '../../core/schema/canonical.js';
import { SqliteStore } from '../../core/store/sqlite-store.js';
import { probabilisticSchema } from './config.js';
import { PEOPLE_SETTINGS, people } from './__fixtures__/people.js';
import { ProbabilisticResolver, RESOLVER_ID } from './resolver.js';
import { trainFromStore } from './train.js';

const settings = PEOPLE_SETTINGS;
const cfg = probabilisticSchema.parse(settings);

function ctx(): ResolverContext {
  let n = 0;
  return {
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    rules: resolutionSchema.parse({ resolver: RESOLVER_ID, probabilistic: settings }),
    now: () => new Date('2026-12-01T10:00:00Z'),
    newProfileId: () => `p${++n}-${Math.random().toString(36).slice(2, 8)}`,
  };
}

/** Each record has its own email, so exact identifiers alone never join two of them. */
function records(list: ReturnType<typeof people>, stream: string, extra: (key: string) => CanonicalRecord['identifiers'] = () => []): CanonicalRecord[] {
  return list.map((r) => ({
    kind: 'identify',
    source: 'crm',
    stream,
    recordId: r.key,
    observedAt: '2026-11-01T00:00:00.000Z',
    identifiers: [{ type: 'email', value: `${r.key}.${stream}@example.org` }, ...extra(r.key)],
    traits: r.traits,
  }));
}

async function seeded(extra?: (key: string) => CanonicalRecord['identifiers']) {
  const store = new SqliteStore(':memory:');
  const resolver = new ProbabilisticResolver();
  const c = ctx();
  // First batch: one record per person (the "-0" copies), then a model trained on all of it.
  const first = records(people(200).filter((r) => r.key.endsWith('-0')), 'old', extra);
  const res = await resolver.resolve(c, first, store);
  await store.commitBatch({ sync: 'crm', records: first, resolution: res, deadLetters: [], checkpoints: [], destinations: [] });
  // Train on a richer set so EM sees typo-level matches: the other copies, in a scratch store.
  const scratch = new SqliteStore(':memory:');
  const all = records(people(200), 'train');
  const r2 = await new ProbabilisticResolver().resolve(c, all, scratch);
  await scratch.commitBatch({ sync: 'crm', records: all, resolution: r2, deadLetters: [], checkpoints: [], destinations: [] });
  const trained = await trainFromStore(scratch, cfg, { save: false });
  expect(trained.model.converged).toBe(true);
  await store.saveMatchModel(RESOLVER_ID, trained.model.trainedAt, (v) => JSON.stringify({ ...trained.model, version: v }));
  await scratch.close();
  return { store, resolver, c };
}

describe('probabilistic resolver on a store', () => {
  it('links new records with typos and other emails to the stored profile of the same person, and stores the explanation', async () => {
    const { store, resolver, c } = await seeded();
    const before = new Map((await store.dumpResolution()).recordProfiles);
    const next = records(people(200).filter((r) => r.key.endsWith('-1')), 'new');
    const res = await resolver.resolve(c, next, store);
    await store.commitBatch({ sync: 'crm', records: next, resolution: res, deadLetters: [], checkpoints: [], destinations: [] });
    const after = new Map((await store.dumpResolution()).recordProfiles);
    let joined = 0;
    for (const r of next) {
      const person = r.recordId.split('-')[0];
      const old = before.get(`crm/old/${person}-0`)!;
      if (after.get(`crm/new/${r.recordId}`) === old) joined++;
      // Never with someone else's stored profile.
      for (const [k, p] of before) if (p === after.get(`crm/new/${r.recordId}`)) expect(k.startsWith(`crm/old/${person}-`)).toBe(true);
    }
    expect(joined).toBeGreaterThanOrEqual(next.length * 0.9);
    const someone = before.get(`crm/old/${next[0].recordId.split('-')[0]}-0`)!;
    const links = await store.probabilisticLinksOfProfile(someone);
    expect(links.length).toBeGreaterThan(0);
    expect(links[0].evidence.map((e) => e.comparison)).toEqual(['prior', 'firstName', 'lastName', 'dob', 'zip']);
    expect(links[0].probability).toBeGreaterThanOrEqual(cfg.matchThreshold);
    await store.close();
  });

  it('never joins two profiles with different external ids of one namespace', async () => {
    const { store, resolver, c } = await seeded((key) => [{ type: 'external_id', namespace: 'crm', value: `crm-${key}` }]);
    const next = records(people(200).filter((r) => r.key.endsWith('-1')), 'new', (key) => [{ type: 'external_id', namespace: 'crm', value: `crm-${key}` }]);
    const res = await resolver.resolve(c, next, store);
    expect(res.merges).toEqual([]);
    const stored = new Set(new Map((await store.dumpResolution()).recordProfiles).values());
    for (const r of next) expect(stored.has(res.assignments.get(`crm/new/${r.recordId}`)!)).toBe(false);
    await store.close();
  });

  it('asks the store for the batch blocking keys only, never for every record', async () => {
    const { store, resolver, c } = await seeded();
    const asked: string[][] = [];
    let scans = 0;
    const graph = Object.create(store) as SqliteStore;
    graph.candidatesByBlockingKey = (keys, per) => {
      asked.push(keys);
      return store.candidatesByBlockingKey(keys, per);
    };
    graph.iterateRecords = (n) => {
      scans++;
      return store.iterateRecords(n);
    };
    const next = records(people(6).filter((r) => r.key.endsWith('-1')), 'new');
    await resolver.resolve(c, next, graph);
    expect(scans).toBe(0);
    expect(asked).toHaveLength(1);
    expect(asked[0].length).toBeLessThanOrEqual(next.length * cfg.blocking.length);
    await store.close();
  });

  it('runs its lookups without yielding inside the write transaction: an outbox ack made meanwhile survives a rolled-back batch', async () => {
    const { store, resolver, c } = await seeded();
    const dest = ['webhook'];
    const first = records(people(3).filter((r) => r.key.endsWith('-0')), 'acked');
    await store.commitBatch({ sync: 'crm', records: first, resolution: await resolver.resolve(c, first, store), deadLetters: [], checkpoints: [], destinations: dest });
    const pending = await store.pendingOutbox('webhook', 100);
    expect(pending.length).toBeGreaterThan(0);
    const next = records(people(200).filter((r) => r.key.endsWith('-1')), 'new');
    let acked: Promise<void> | undefined;
    await expect(
      store.exclusive(async () => {
        // Another part of the process acks as soon as the event loop gives it a turn.
        setImmediate(() => (acked = store.ackOutbox('webhook', pending)));
        await resolver.resolve(c, next, store);
        throw new Error('batch failed');
      }),
    ).rejects.toThrow('batch failed');
    await new Promise((r) => setImmediate(r));
    expect(acked).toBeDefined();
    await acked;
    expect(await store.pendingOutbox('webhook', 100)).toEqual([]);
    await store.close();
  });

  it('EM that does not converge keeps the previous model', async () => {
    const { store } = await seeded();
    const out = await trainFromStore(store, probabilisticSchema.parse({ ...settings, em: { maxIterations: 1, tolerance: 1e-12 } }), { save: true });
    expect(out.model.converged).toBe(false);
    expect(out.saved).toBeUndefined();
    expect((await store.latestMatchModel(RESOLVER_ID))?.version).toBe(1);
    await store.close();
  });
});
