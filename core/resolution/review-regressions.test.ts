import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolutionSchema } from '../config/schema.js';
import type { CanonicalRecord, Identifier } from '../schema/canonical.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { DeterministicResolver } from './deterministic.js';
import { rebuildResolution } from './rebuild.js';
import { loadConfigText } from '../config/load.js';
import { compileMapping } from '../schema/mapping.js';
import { mappingSchema } from '../config/schema.js';
import { captureLogger } from '../../test/kit/context.js';

// Regressions for bugs a review found in the resolver and the store; each failed before its fix.

function rec(recordId: string, identifiers: Array<Partial<Identifier> & { type: string; value: string }>, traits: Record<string, unknown> = {}): CanonicalRecord {
  return { kind: 'identify', source: 'crm', stream: 'c', recordId, observedAt: '2026-01-01T00:00:00.000Z', identifiers: identifiers as Identifier[], traits };
}

let ids = 0;
async function run(store: SqliteStore, records: CanonicalRecord[], nowIso: string, rules: Record<string, unknown> = {}) {
  const ctx = { logger: captureLogger(), rules: resolutionSchema.parse(rules), now: () => new Date(nowIso), newProfileId: () => `p${String(++ids).padStart(3, '0')}` };
  const result = await new DeterministicResolver().resolve(ctx, records, store);
  await store.commitBatch({ sync: 'crm', records, resolution: result, deadLetters: [], checkpoints: [], destinations: ['hook'] });
  return result;
}

describe('review regressions', () => {
  it('a profile born in a batch never survives a stored one, even when this worker clock is behind', async () => {
    const store = new SqliteStore(':memory:');
    ids = 0;
    await run(store, [rec('a', [{ type: 'email', value: 'a@x.com' }])], '2026-01-01T00:00:00Z');
    await run(store, [rec('s', [{ type: 'email', value: 's@x.com' }])], '2026-01-05T00:00:00Z');
    await run(
      store,
      [
        rec('r1', [{ type: 'email', value: 'n@x.com' }]),
        rec('r2', [{ type: 'email', value: 'n@x.com' }, { type: 'phone', value: '+14155552671' }, { type: 'email', value: 's@x.com' }]),
        rec('r3', [{ type: 'email', value: 'n@x.com' }, { type: 'email', value: 'a@x.com' }]),
      ],
      '2026-01-03T00:00:00Z',
    );
    expect(store.danglingReferences()).toEqual([]);
    expect(await store.resolveProfileId('p002')).toBe('p001');
  });

  it('after a merge the owner of a value does not also count as a refused presenter', async () => {
    const store = new SqliteStore(':memory:');
    ids = 0;
    const rules = { genericThreshold: 2 };
    await run(store, [rec('r1', [{ type: 'email', value: 'e@x.com' }, { type: 'external_id', namespace: 'crm', value: 'A1' }], { firstName: 'Ann' })], '2026-01-01T00:00:00Z', rules);
    await run(store, [rec('r2', [{ type: 'email', value: 'e@x.com' }, { type: 'external_id', namespace: 'shop', value: 'S1' }], { firstName: 'Bob' })], '2026-01-02T00:00:00Z', rules);
    await run(store, [rec('r3', [{ type: 'external_id', namespace: 'crm', value: 'A1' }, { type: 'external_id', namespace: 'shop', value: 'S1' }])], '2026-01-03T00:00:00Z', rules);
    await run(store, [rec('r4', [{ type: 'email', value: 'e@x.com' }, { type: 'phone', value: '+14155552671' }], { firstName: 'Carl' })], '2026-01-04T00:00:00Z', rules);
    const r5 = await run(store, [rec('r5', [{ type: 'email', value: 'e@x.com' }])], '2026-01-05T00:00:00Z', rules);
    expect(r5.assignments.get('crm/c/r5')).toBe('p001');
  });

  it('a record read again does not count twice against the record cap', async () => {
    const store = new SqliteStore(':memory:');
    ids = 0;
    const rules = { maxRecordsPerProfile: 2 };
    await run(store, [rec('r1', [{ type: 'email', value: 'e@x.com' }]), rec('r2', [{ type: 'email', value: 'e@x.com' }])], '2026-01-01T00:00:00Z', rules);
    const res = await run(store, [rec('r1', [{ type: 'email', value: 'e@x.com' }, { type: 'phone', value: '+14155552671' }])], '2026-01-02T00:00:00Z', rules);
    expect(res.refused).toEqual([]);
  });

  it('re-syncing a record replaces its refusals instead of piling them up', async () => {
    const store = new SqliteStore(':memory:');
    ids = 0;
    for (let i = 0; i < 3; i++) await run(store, [rec('r1', [{ type: 'email', value: 'test@test.com' }, { type: 'phone', value: '+14155552671' }])], '2026-01-01T00:00:00Z');
    expect((await store.explain('p001')).refused).toHaveLength(1);
  });

  it('a rebuild keeps merges destinations have not been told about yet', async () => {
    const store = new SqliteStore(':memory:');
    ids = 0;
    await run(store, [rec('1', [{ type: 'email', value: 'a@x.com' }])], '2026-01-01T00:00:00Z');
    await run(store, [rec('2', [{ type: 'phone', value: '+14155552671' }])], '2026-01-02T00:00:00Z');
    await run(store, [rec('3', [{ type: 'email', value: 'a@x.com' }, { type: 'phone', value: '+14155552671' }])], '2026-01-03T00:00:00Z');
    await rebuildResolution({ store, resolver: new DeterministicResolver(), rules: resolutionSchema.parse({}), logger: captureLogger(), dryRun: false, destinations: ['hook'] });
    const after = await store.pendingOutbox('hook', 10);
    expect(after.find((e) => e.profileId === 'p001')!.mergedFrom).toEqual(['p002']);
  });

  it('two processes on one store never reuse an outbox sequence, so an ack cannot delete a newer change', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'trib-seq-')), 's.db');
    const a = new SqliteStore(file);
    ids = 0;
    await run(a, [rec('1', [{ type: 'email', value: 'a@x.com' }])], '2026-01-01T00:00:00Z');
    await run(a, [rec('2', [{ type: 'email', value: 'b@x.com' }])], '2026-01-01T00:00:00Z');
    const b = new SqliteStore(file);
    await run(a, [rec('2', [{ type: 'email', value: 'b@x.com' }], { firstName: 'B' })], '2026-01-02T00:00:00Z');
    const read = await a.pendingOutbox('hook', 10);
    await run(b, [rec('2', [{ type: 'email', value: 'b@x.com' }], { firstName: 'Bobby' })], '2026-01-03T00:00:00Z');
    await a.ackOutbox('hook', read);
    expect((await a.pendingOutbox('hook', 10)).map((e) => e.profileId)).toEqual(['p002']);
    await a.close();
    await b.close();
  });

  it('a ${VAR:-default} value is a secret too, and a default may contain ":-"', () => {
    const text = 'sources: []\ndestinations: []\nplugins: ["${TRIB_NOPE:-s3cr3t:-dev-token}"]\n';
    const { config, secrets } = loadConfigText(text, 'x.yaml', { env: {} });
    expect(config.plugins).toEqual(['s3cr3t:-dev-token']);
    expect([...secrets]).toEqual(['s3cr3t:-dev-token']);
  });

  it('composite keys stay distinct, object identifier values are refused, prototype fields are not read', () => {
    const mctx = { source: 's', stream: 'x', kind: 'identify' as const, primaryKey: ['a', 'b'], defaultRegion: 'US', now: () => '2026-01-01T00:00:00.000Z' };
    const { map } = compileMapping(mappingSchema.parse({ identifiers: { external_id: 'ext', email: 'constructor' } }), mctx);
    const one = map({ a: 'x|y', b: 'z', ext: 'e1' });
    const two = map({ a: 'x', b: 'y|z', ext: 'e2' });
    expect(one.ok && two.ok && one.record.recordId !== two.record.recordId).toBe(true);
    const obj = map({ a: '1', b: '2', ext: { nested: true } });
    expect(obj).toMatchObject({ ok: false, reason: expect.stringContaining('not a single value') });
  });
});
