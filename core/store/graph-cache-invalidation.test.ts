import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolutionSchema } from '../config/schema.js';
import { DeterministicResolver } from '../resolution/deterministic.js';
import { rebuildResolution } from '../resolution/rebuild.js';
import { SqliteStore } from './sqlite-store.js';
import { allKeys, graphView, Runner, scratchDir, workload, WORKLOAD_RULES } from './__fixtures__/graph-workload.js';

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

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
/** Stricter than the workload's rules: one email per profile splits profiles, so the rebuilt graph differs. */
const rebuild = (s: SqliteStore) =>
  rebuildResolution({
    store: s,
    resolver: new DeterministicResolver(),
    rules: resolutionSchema.parse({ ...WORKLOAD_RULES, limits: { external_id: 1, email: 1, phone: 1 } }),
    logger: quiet,
    dryRun: false,
    destinations: [],
  });

async function seeded() {
  const cached = store();
  const runner = new Runner();
  for (const batch of workload(17, 6, 30)) await runner.batch(cached, batch);
  return cached;
}

async function expectSameAsSql(cached: SqliteStore) {
  const keys = allKeys(dir.file);
  expect(await graphView(cached, keys)).toEqual(await graphView(store(false), keys));
}

describe('graph cache: rebuild and forget', () => {
  it('a rebuild in this process drops the cache; the next read loads the rebuilt graph', async () => {
    const cached = await seeded();
    const before = await graphView(cached, allKeys(dir.file));
    const report = await rebuild(cached);
    expect(report.splits.length).toBeGreaterThan(0);
    await expectSameAsSql(cached);
    expect(await graphView(cached, allKeys(dir.file))).not.toEqual(before);
    expect(cached.graphCacheStats()!.loads).toBe(2);
  });

  it('a rebuild in another process is seen at the next exclusive', async () => {
    const cached = await seeded();
    const other = store();
    await rebuild(other);
    const keys = allKeys(dir.file);
    expect(await cached.exclusive(() => graphView(cached, keys))).toEqual(await graphView(store(false), keys));
  });

  it('a replace inside an exclusive that already read the graph is seen by the reads after it', async () => {
    const cached = await seeded();
    const scratch = new SqliteStore(':memory:');
    open.push(scratch);
    // The graph of a scratch store: one batch of different people, so every answer changes.
    await new Runner().batch(scratch, workload(99, 1, 30)[0]);
    const snapshot = await scratch.dumpResolution();
    const keys = [...new Set([...allKeys(dir.file), ...snapshot.identifierOwners.keys()])];
    const after = await cached.exclusive(async () => {
      await cached.lookupIdentifiers(keys);
      await cached.replaceResolution(snapshot, []);
      return graphView(cached, keys);
    });
    expect(after.owners).toEqual([...snapshot.identifierOwners].filter(([k]) => keys.includes(k)).sort((a, b) => keys.indexOf(a[0]) - keys.indexOf(b[0])));
    expect(after).toEqual(await graphView(store(false), keys));
  });

  it('a forget in another process removes the person from this one', async () => {
    const cached = await seeded();
    const keys = allKeys(dir.file);
    const [key, owner] = [...(await cached.lookupIdentifiers(keys))][0];
    await store().privacy.forget({ profileIds: [owner], suppressKeys: [], kind: 'forget' });
    expect((await cached.lookupIdentifiers([key])).has(key)).toBe(false);
    await expectSameAsSql(cached);
  });

  it('a forget through this store is seen by its next read', async () => {
    const cached = await seeded();
    const keys = allKeys(dir.file);
    const [key, owner] = [...(await cached.lookupIdentifiers(keys))][0];
    await cached.privacy.forget({ profileIds: [owner], suppressKeys: [], kind: 'forget' });
    expect((await cached.lookupIdentifiers([key])).has(key)).toBe(false);
    await expectSameAsSql(cached);
    expect(cached.graphCacheStats()!.loads).toBe(2);
  });
});
