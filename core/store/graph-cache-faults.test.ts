import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allKeys, graphView, Runner, scratchDir, workload } from './__fixtures__/graph-workload.js';

// Fault points read TRIBUTARY_FAULT once, when their module loads: set it before the store is imported.
// commitBatch reaches `commit.before-commit` once per batch, `exclusive` reaches `commit.inside`
// and `commit.after` once per batch that gets that far. Batch 2 fails before its savepoint ends,
// batch 3 just before COMMIT, batch 4 right after COMMIT (it is durable).
process.env.TRIBUTARY_FAULT = 'commit.before-commit:throw@2,commit.inside:throw@2,commit.after:throw@2';
const { SqliteStore } = await import('./sqlite-store.js');
const { FaultInjectedError } = await import('../util/fault-points.js');

let dir: ReturnType<typeof scratchDir>;
beforeEach(() => {
  dir = scratchDir();
});
afterEach(() => dir.cleanup());

describe('graph cache and the commit fault points', () => {
  it('a fault before or at COMMIT leaves the cache as it was; a fault after COMMIT finds the batch in it', async () => {
    const cached = new SqliteStore(dir.file, { graphCache: true });
    const sql = new SqliteStore(dir.file, { graphCache: false });
    const runner = new Runner();
    const [one, two, three, four, five] = workload(21, 5, 30);
    const same = async () => {
      const keys = allKeys(dir.file);
      expect(await graphView(cached, keys)).toEqual(await graphView(sql, keys));
    };

    await runner.batch(cached, one);
    const keys = allKeys(dir.file);
    const afterOne = await graphView(cached, keys);

    await expect(runner.batch(cached, two)).rejects.toThrow(FaultInjectedError); // commit.before-commit
    expect(await graphView(cached, keys)).toEqual(afterOne);
    await same();

    await expect(runner.batch(cached, three)).rejects.toThrow(FaultInjectedError); // commit.inside
    expect(await graphView(cached, keys)).toEqual(afterOne);
    await same();

    await expect(runner.batch(cached, four)).rejects.toThrow(FaultInjectedError); // commit.after: committed
    expect(allKeys(dir.file).length).toBeGreaterThan(keys.length);
    await same();

    await runner.batch(cached, five);
    await same();
    // The cache was never dropped: the two rolled-back batches were discarded, the committed ones replayed.
    expect(cached.graphCacheStats()).toMatchObject({ loads: 1, applied: 3 });
    await cached.close();
    await sql.close();
  });
});
