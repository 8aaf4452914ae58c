import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { identifierKey } from '../schema/canonical.js';
import type { ProfileState, ResolutionResult } from '../resolution/types.js';
import type { BatchCommit } from './types.js';
import { SqliteStore } from './sqlite-store.js';
import { allKeys, graphCounts, graphView, Runner, scratchDir, workload } from './__fixtures__/graph-workload.js';

let dir: ReturnType<typeof scratchDir>;
const open: SqliteStore[] = [];
const store = (graphCache = true) => {
  const s = new SqliteStore(dir.file, { graphCache });
  open.push(s);
  return s;
};

beforeEach(() => {
  dir = scratchDir();
});
afterEach(async () => {
  while (open.length) await open.pop()!.close();
  dir.cleanup();
});

/** The cached store answers what SQL answers (a second connection with the cache off), for every key. */
async function expectSameAsSql(cached: SqliteStore) {
  const keys = allKeys(dir.file);
  const sql = store(false);
  expect(await graphView(cached, keys)).toEqual(await graphView(sql, keys));
  await sql.close();
}

describe('graph cache: the same answers as the store', () => {
  it('after every batch of merges, refusals and presenters, without loading again', async () => {
    const cached = store();
    const runner = new Runner();
    let merges = 0;
    for (const batch of workload(7, 12, 30)) {
      merges += (await runner.batch(cached, batch)).merges.length;
      await expectSameAsSql(cached);
    }
    const counts = graphCounts(dir.file);
    // The workload does what it is for: merges, presented rows, several presenters of a key.
    expect(merges).toBeGreaterThan(5);
    expect(counts.presented).toBeGreaterThan(5);
    const presenters = await cached.presentersOf(allKeys(dir.file), 10);
    expect([...presenters.values()].some((p) => p.length > 1)).toBe(true);
    // Answered from memory, loaded once, each batch replayed after its commit.
    const stats = cached.graphCacheStats()!;
    expect(stats).toMatchObject({ loads: 1, applied: 12, loaded: true, identifiers: counts.identifiers });
    expect(stats.hits).toBeGreaterThan(30);
  });

  it('a cold start loads the stored graph in one pass', async () => {
    const first = store();
    const runner = new Runner();
    for (const batch of workload(11, 6, 30)) await runner.batch(first, batch);
    expect(first.graphCacheStats()!.loaded).toBe(true);
    await first.close();
    // Closing lets the memory go.
    expect(first.graphCacheStats()!.loaded).toBe(false);
    const again = store();
    await expectSameAsSql(again);
    expect(again.graphCacheStats()).toMatchObject({ loads: 1, applied: 0 });
  });

  it('is off with graphCache: false, and by default (reads SQL)', async () => {
    const plain = store(false);
    await new Runner().batch(plain, workload(3, 1, 10)[0]);
    expect(plain.graphCacheStats()).toBeUndefined();
    // Off by default too (TRIB_GRAPH_CACHE=1 turns it on).
    const byDefault = new SqliteStore(':memory:');
    open.push(byDefault);
    if (process.env.TRIB_GRAPH_CACHE !== '1') expect(byDefault.graphCacheStats()).toBeUndefined();
  });
});

/** A batch written as given (no resolver), so the store's merge statements meet cases a resolver rarely makes. */
function handBatch(records: string[], r: Partial<ResolutionResult>): BatchCommit {
  const profile = (id: string, at: string): ProfileState => ({
    id, createdAt: at, updatedAt: at, identifiers: [], recordCount: 1, traits: {}, traitSources: {}, computed: {}, aggregates: {},
  });
  return {
    sync: 'crm',
    records: records.map((id) => ({ kind: 'identify', source: 'crm', stream: 'people', recordId: id, observedAt: '2026-01-01T00:00:00.000Z', identifiers: [], traits: {} })),
    resolution: {
      assignments: new Map(records.map((id) => [`crm/people/${id}`, r.profiles?.[0]?.id ?? 'A'])),
      links: [], identifierOwners: new Map(), merges: [], refused: [], profiles: [], genericValues: [], presented: [],
      ...r,
      ...(r.profiles ? { profiles: r.profiles.map((p) => profile(p.id, p.createdAt)) } : {}),
    },
    deadLetters: [], checkpoints: [], destinations: [],
  };
}

describe('graph cache: merges the resolver rarely makes', () => {
  it('a survivor that presented a value the absorbed profile owned stops presenting it; a presenter without a profile row is counted, not listed', async () => {
    const cached = store();
    const at = (s: number) => `2026-01-01T00:00:0${s}.000Z`;
    const commit = (b: BatchCommit) => cached.exclusive(() => cached.commitBatch(b));
    await commit(handBatch(['1'], {
      identifierOwners: new Map([['email\u0000a@x.com', 'A'], ['phone\u0000+1', 'A'], ['email\u0000b@x.com', 'B']]),
      presented: [['email\u0000a@x.com', 'B'], ['phone\u0000+1', 'C'], ['phone\u0000+1', 'ghost'], ['email\u0000b@x.com', 'A']],
      profiles: [{ id: 'A', createdAt: at(1) }, { id: 'B', createdAt: at(2) }, { id: 'C', createdAt: at(3) }] as ProfileState[],
    }));
    await expectSameAsSql(cached);
    await commit(handBatch(['2'], {
      merges: [{ survivor: 'B', absorbed: 'A', recordKey: 'crm/people/2', identifierKey: 'email\u0000a@x.com', rule: 'test', at: at(4) }],
      profiles: [{ id: 'B', createdAt: at(2) }] as ProfileState[],
    }));
    await expectSameAsSql(cached);
    const keys = ['email\u0000a@x.com', 'phone\u0000+1', 'email\u0000b@x.com'];
    expect(await graphView(cached, keys)).toEqual({
      owners: [['email\u0000a@x.com', 'B'], ['phone\u0000+1', 'B'], ['email\u0000b@x.com', 'B']],
      presentedBy: [['phone\u0000+1', 2]],
      presenters: [['phone\u0000+1', ['C']]],
    });
    // Loaded by the first comparison; the merge batch replayed onto it.
    expect(cached.graphCacheStats()).toMatchObject({ loads: 1, applied: 1 });
  });
});

describe('graph cache: another process writes', () => {
  it('a second store on the same file committing makes the first read the graph again', async () => {
    const a = store();
    const b = store();
    const runner = new Runner();
    const [one, two, three] = workload(5, 3, 30);
    await runner.batch(a, one);
    await expectSameAsSql(a);
    await runner.batch(b, two);
    // Inside a's next exclusive (as a sync reads it), b's identifiers are seen.
    const keys = allKeys(dir.file);
    const seen = await a.exclusive(() => graphView(a, keys));
    expect(seen).toEqual(await graphView(b, keys));
    expect(a.graphCacheStats()!.loads).toBe(2);
    // And outside one.
    await runner.batch(b, three);
    await expectSameAsSql(a);
    expect(a.graphCacheStats()!.loads).toBe(3);
  });

  it('writes that do not change the graph (runs, dead letters) keep the cache', async () => {
    const a = store();
    const b = store();
    await new Runner().batch(a, workload(5, 1, 30)[0]);
    await expectSameAsSql(a);
    const run = await b.startRun('crm', 'sync');
    await b.finishRun(run, 'succeeded', undefined);
    await b.addDeadLetters([{ sync: 'crm', stream: 'people', reason: 'bad', payload: {} }]);
    await expectSameAsSql(a);
    expect(a.graphCacheStats()!.loads).toBe(1);
  });
});

describe('graph cache: only committed batches', () => {
  it('a batch whose exclusive fails after commitBatch leaves the cache as it was', async () => {
    const cached = store();
    const runner = new Runner();
    const [one, two, three] = workload(9, 3, 30);
    await runner.batch(cached, one);
    const keys = allKeys(dir.file);
    const before = await graphView(cached, keys);
    await expect(runner.batch(cached, two, () => { throw new Error('late failure'); })).rejects.toThrow('late failure');
    expect(await graphView(cached, keys)).toEqual(before);
    await expectSameAsSql(cached);
    // Kept, not dropped and loaded again; and the next batch is replayed onto it.
    await runner.batch(cached, three);
    await expectSameAsSql(cached);
    expect(cached.graphCacheStats()).toMatchObject({ loads: 1, applied: 2 });
  });

  it('inside an exclusive, reads after commitBatch see the uncommitted batch (from SQL)', async () => {
    const cached = store();
    const runner = new Runner();
    const [one, two] = workload(13, 2, 30);
    await runner.batch(cached, one);
    const keys = [...new Set([...allKeys(dir.file), ...two.flatMap((r) => r.identifiers.map(identifierKey))])];
    let inside: Awaited<ReturnType<typeof graphView>> | undefined;
    await runner.batch(cached, two, async () => {
      inside = await graphView(cached, keys);
    });
    expect(inside!.owners.length).toBeGreaterThan(allKeys(dir.file).length / 2);
    expect(inside).toEqual(await graphView(store(false), keys));
  });
});
