import { afterEach, describe, expect, it } from 'vitest';
import { DeterministicResolver } from '../resolution/deterministic.js';
import { resolutionSchema } from '../config/schema.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { scratchDir } from '../store/__fixtures__/graph-workload.js';
import type { CanonicalRecord } from '../schema/canonical.js';
import { workerMetrics } from './metrics.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const people = (n: number): CanonicalRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    kind: 'identify',
    source: 'crm',
    stream: 'people',
    recordId: String(i),
    observedAt: '2026-01-01T00:00:00.000Z',
    identifiers: [{ type: 'email', value: `m${i}@x.com` }],
    traits: {},
  })) as CanonicalRecord[];

describe('worker metrics', () => {
  it('count the records of batches committed by the store\'s commit thread, once each is committed', async () => {
    const { file, cleanup } = scratchDir();
    cleanups.push(cleanup);
    const store = new SqliteStore(file, { commitThread: true });
    const metrics = workerMetrics('w1');
    metrics.observeCommits(store);
    const pipeline = store.commitPipeline()!;
    const ctx = { logger: { debug() {}, info() {}, warn() {}, error() {} }, rules: resolutionSchema.parse({}), now: () => new Date('2026-01-02T00:00:00Z'), newProfileId: (() => { let n = 0; return () => `m${++n}`; })() };
    for (const records of [people(30), people(45).slice(30)]) {
      const base = pipeline.begin();
      const resolution = await new DeterministicResolver().resolve(ctx, records, pipeline.view(store));
      await pipeline.submit({ sync: 'crm', records, resolution, deadLetters: [], checkpoints: [], destinations: [] }, base);
    }
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/tributary_records_synced_total\{[^}]*source="crm"[^}]*\} 45/);
    expect(text).toMatch(/tributary_batch_commit_seconds_count\{[^}]*source="crm"[^}]*\} 2/);
    await store.close();
  });
});
