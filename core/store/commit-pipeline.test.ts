import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ConnectionError } from '../errors.js';
import { DeterministicResolver } from '../resolution/deterministic.js';
import { resolutionSchema } from '../config/schema.js';
import type { CanonicalRecord } from '../schema/canonical.js';
import type { IdentityGraph } from '../resolution/types.js';
import { snapshotStore } from '../../test/crash/store-snapshot.js';
import { Runner, scratchDir, workload } from './__fixtures__/graph-workload.js';
import type { CommitPipeline } from './commit-pipeline.js';
import { SqliteStore } from './sqlite-store.js';

// The commit thread (commit-pipeline.ts, commit-worker.ts) runs the compiled worker in dist/: `npm test` builds it first.

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function scratch() {
  const s = scratchDir();
  cleanups.push(s.cleanup);
  return s.file;
}

/** The worker reads TRIBUTARY_FAULT when it starts; this thread's fault points were armed (empty) at import. */
function threadedStore(file: string, fault?: string): { store: SqliteStore; pipeline: CommitPipeline } {
  const before = process.env.TRIBUTARY_FAULT;
  if (fault) process.env.TRIBUTARY_FAULT = fault;
  try {
    const store = new SqliteStore(file, { commitThread: true });
    const pipeline = store.commitPipeline();
    if (!pipeline) throw new Error('no compiled commit worker: run `npm run build` first');
    return { store, pipeline };
  } finally {
    if (before === undefined) delete process.env.TRIBUTARY_FAULT;
    else process.env.TRIBUTARY_FAULT = before;
  }
}

/** Customers, then batches of orders of the same customers: no merges, every order batch updates profiles the one before updated. */
function customersThenOrders(customers: number, orderBatches: number, perBatch: number): CanonicalRecord[][] {
  const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
  const out: CanonicalRecord[][] = [];
  out.push(
    Array.from({ length: customers }, (_, i) => ({
      kind: 'identify' as const,
      source: 'crm',
      stream: 'people',
      recordId: `c${i}`,
      observedAt: at(i),
      identifiers: [{ type: 'email', value: `p${i}@x.com` }],
      traits: { firstName: `F${i}` },
    })) as CanonicalRecord[],
  );
  let o = 0;
  for (let b = 0; b < orderBatches; b++) {
    out.push(
      Array.from({ length: perBatch }, () => {
        const who = (o * 7) % customers;
        return {
          kind: 'track' as const,
          source: 'shop',
          stream: 'orders',
          recordId: `o${o}`,
          observedAt: at(customers + o++),
          identifiers: [{ type: 'email', value: `p${who}@x.com` }],
          traits: {},
          event: { name: 'order_completed', properties: {}, revenue: 10 },
        };
      }) as CanonicalRecord[],
    );
  }
  return out;
}

const RULES = resolutionSchema.parse({ computed: { orders: { event: 'order_completed', op: 'count' }, spent: { event: 'order_completed', op: 'sum', property: 'revenue' } } });

/** A resolver context with its own clock (one second a call) and numbered profile ids, as a sync's run would have. */
function resolveContext(rules: typeof RULES, prefix: string) {
  let ids = 0;
  let clock = Date.parse('2026-02-01T00:00:00Z');
  return {
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    rules,
    now: () => new Date((clock += 1000)),
    newProfileId: () => `${prefix}${String(++ids).padStart(5, '0')}`,
  };
}

/** Resolve and hand over batches as the engine does with a commit thread: the next one is resolved while one is in flight. */
async function runThreaded(pipeline: CommitPipeline, store: SqliteStore, batches: CanonicalRecord[][], rules = RULES) {
  const resolver = new DeterministicResolver();
  const ctx = resolveContext(rules, 'p');
  const inFlight: Array<Promise<number>> = [];
  for (const records of batches) {
    while (inFlight.length > 1) await inFlight.shift();
    const base = pipeline.begin();
    const resolution = await resolver.resolve(ctx, records, pipeline.view(store) as IdentityGraph);
    inFlight.push(pipeline.submit({ sync: 'crm', records, resolution, deadLetters: [], checkpoints: [], destinations: [] }, base));
  }
  await Promise.all(inFlight);
}

/** The same batches resolved and committed on one thread, one `exclusive` each (the reference). */
async function runSequential(file: string, batches: CanonicalRecord[][], rules = RULES) {
  const store = new SqliteStore(file);
  const resolver = new DeterministicResolver();
  const ctx = resolveContext(rules, 'p');
  for (const records of batches) {
    await store.exclusive(async () => {
      const resolution = await resolver.resolve(ctx, records, store);
      await store.commitBatch({ sync: 'crm', records, resolution, deadLetters: [], checkpoints: [], destinations: [] });
    });
  }
  await store.close();
}

describe('commit thread', () => {
  it('orders resolved while the batch before is unwritten read its profiles from the batch in flight: the store is the one-thread store', { timeout: 60_000 }, async () => {
    const batches = customersThenOrders(300, 8, 200);
    const reference = scratch();
    await runSequential(reference, batches);

    const file = scratch();
    // The 3rd batch's write waits 400 ms before its transaction: the 4th is resolved on a graph that does not have it yet.
    const { store, pipeline } = threadedStore(file, 'commit.before-transaction:pause=400@3');
    await runThreaded(pipeline, store, batches);
    expect(pipeline.stats.overlayReads).toBeGreaterThan(0);
    expect(pipeline.stats.batches).toBe(batches.length);
    await store.close();

    const got = snapshotStore(file);
    const want = snapshotStore(reference);
    for (const table of Object.keys(want) as Array<keyof typeof want>) expect(got[table], `table ${table}`).toEqual(want[table]);
    // The orders counted on their people: 1,600 orders over 300 customers.
    const counts = (got.profiles as Array<{ body: { computed: { orders?: number } } }>).map((p) => p.body.computed.orders ?? 0);
    expect(counts.reduce((a, n) => a + n, 0)).toBe(1600);
  });

  it('batches that merge, refuse and present wait for the batch in flight: the store is the one-thread store', { timeout: 60_000 }, async () => {
    const batches = workload(11, 24, 40);
    const rules = new Runner().rules;
    const reference = scratch();
    await runSequential(reference, batches, rules);

    const file = scratch();
    const { store, pipeline } = threadedStore(file, 'commit.before-transaction:pause=300@2');
    await runThreaded(pipeline, store, batches, rules);
    expect(Object.keys(pipeline.stats.waits)).toContain('merges or blocking keys');
    await store.close();

    const got = snapshotStore(file);
    const want = snapshotStore(reference);
    expect(want.merges.length).toBeGreaterThan(0);
    for (const table of Object.keys(want) as Array<keyof typeof want>) expect(got[table], `table ${table}`).toEqual(want[table]);
  });

  it('a batch resolved before another process changed the graph is not written, nor one resolved on top of it; the retry is', { timeout: 60_000 }, async () => {
    const file = scratch();
    const { store, pipeline } = threadedStore(file);
    const [first, second] = customersThenOrders(50, 1, 20);
    const later = customersThenOrders(60, 0, 0)[0].slice(50);
    const resolver = new DeterministicResolver();
    const ctx = resolveContext(RULES, 'q');
    const hand = async (records: CanonicalRecord[], base = pipeline.begin()) =>
      pipeline.submit({ sync: 'crm', records, resolution: await resolver.resolve(ctx, records, pipeline.view(store)), deadLetters: [], checkpoints: [], destinations: [] }, base);
    const outcome = (p: Promise<number>) => p.then(() => 'written', (e: unknown) => e);

    const base = pipeline.begin();
    const resolution = await resolver.resolve(ctx, first, pipeline.view(store));
    // Meanwhile another process commits a batch to the same file.
    const other = new SqliteStore(file);
    await new Runner().batch(other, second);
    await other.close();

    const refused = outcome(pipeline.submit({ sync: 'crm', records: first, resolution, deadLetters: [], checkpoints: [], destinations: [] }, base));
    // Resolved while the refused batch is still in flight: on top of it.
    expect(pipeline.begin()).toBe('chain');
    const onTop = outcome(hand(later, 'chain'));
    const err = await refused;
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/identity graph changed while the batch was resolved.*retried from its last checkpoint/);
    expect(await onTop).toBeInstanceOf(Error);
    // Nothing of either batch is stored: only the other process's 20 orders.
    const sources = () => (snapshotStore(file).records as Array<{ source: string; record_id: string }>).map((r) => `${r.source}/${r.record_id}`);
    expect(sources()).toEqual(second.map((r) => `shop/${r.recordId}`));

    // The retry (what the engine does from the checkpoint) starts afresh on the store and is written.
    expect(await outcome(hand(first))).toBe('written');
    expect(sources()).toEqual([...second.map((r) => `shop/${r.recordId}`), ...first.map((r) => `crm/${r.recordId}`)]);
    await store.close();
  });

  it('a batch that fails in the thread takes the batch resolved on top of it along; nothing of either is stored', { timeout: 60_000 }, async () => {
    const file = scratch();
    // The 2nd batch throws once its records are written (inside its transaction).
    const { store, pipeline } = threadedStore(file, 'commit.after-records:throw@2');
    const [people] = customersThenOrders(90, 0, 0);
    const [a, b, c] = [people.slice(0, 30), people.slice(30, 60), people.slice(60)];
    const resolver = new DeterministicResolver();
    const ctx = resolveContext(RULES, 'q');
    // Resolved one after the other (the engine holds its resolve lock), each handed over without waiting for its COMMIT.
    const hand = async (records: CanonicalRecord[]) => {
      const base = pipeline.begin();
      const resolution = await resolver.resolve(ctx, records, pipeline.view(store));
      return { done: pipeline.submit({ sync: 'crm', records, resolution, deadLetters: [], checkpoints: [], destinations: [] }, base) };
    };
    await (await hand(a)).done;
    const failing = (await hand(b)).done.then(() => 'written', (e: unknown) => (e as Error).message);
    const onTop = (await hand(c)).done.then(() => 'written', (e: unknown) => (e as Error).message);
    expect(await failing).toMatch(/fault injected at commit\.after-records/);
    expect(await onTop).not.toBe('written');
    await pipeline.drain().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200)); // the thread has answered both by now; nothing else may land
    const ids = (snapshotStore(file).records as Array<{ record_id: string }>).map((r) => r.record_id);
    expect(ids).toEqual(a.map((r) => r.recordId));
    await store.close();
  });

  it('a progress row the thread cannot write fails that update only, with the reason; batches go on', { timeout: 60_000 }, async () => {
    const file = scratch();
    const { store, pipeline } = threadedStore(file);
    const runId = await store.startRun('crm', 'sync');
    // Once the thread has opened the store (it answers an update), another connection removes what the update writes to.
    await pipeline.updateRun(runId, undefined);
    const other = new Database(file);
    other.exec('DROP TABLE runs');
    other.close();
    await expect(pipeline.updateRun(runId, undefined)).rejects.toThrow(/could not write the run's progress: no such table: runs/);
    const [people] = customersThenOrders(10, 0, 0);
    const base = pipeline.begin();
    const resolution = await new DeterministicResolver().resolve(resolveContext(RULES, 'r'), people, pipeline.view(store));
    await pipeline.submit({ sync: 'crm', records: people, resolution, deadLetters: [], checkpoints: [], destinations: [] }, base);
    expect(snapshotStore(file).records).toHaveLength(10);
    await store.close();
  });
});
