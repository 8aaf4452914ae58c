import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { resolutionSchema } from '../config/schema.js';
import { DeterministicResolver } from '../resolution/deterministic.js';
import type { ResolutionResult } from '../resolution/types.js';
import type { CanonicalRecord } from '../schema/canonical.js';
import { SqliteStore } from './sqlite-store.js';
import { scratchDir } from './__fixtures__/graph-workload.js';

// A batch is written inside the engine's `exclusive` transaction. Opening a savepoint there as well
// made SQLite copy every page the batch changed to a statement journal, a temporary file once it
// passed 64 KiB: each page was written twice, once to that file and once to the WAL. The bytes this
// process hands to write(2)/pwrite(2) (`wchar` in /proc/self/io) show it.

const wchar = () => Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

const PEOPLE = 3000;
// Orders change every profile they reach (its count): SQLite skips rewriting a row whose bytes are unchanged.
const RULES = resolutionSchema.parse({ computed: { orders: { event: 'order_completed', op: 'count' } } });

/** Resolve and commit one batch as the engine does without its commit thread: inside `exclusive`. */
async function commit(store: SqliteStore, records: CanonicalRecord[], ids: { n: number }): Promise<ResolutionResult> {
  return store.exclusive(async () => {
    const ctx = {
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      rules: RULES,
      now: () => new Date('2026-03-01T00:00:00Z'),
      newProfileId: () => `p${String(++ids.n).padStart(6, '0')}`,
    };
    const resolution = await new DeterministicResolver().resolve(ctx, records, store);
    await store.commitBatch({ sync: records[0].source, records, resolution, deadLetters: [], checkpoints: [], destinations: [] });
    return resolution;
  });
}

function people(): CanonicalRecord[] {
  return Array.from({ length: PEOPLE }, (_, i) => ({
    kind: 'identify',
    source: 'crm',
    stream: 'people',
    recordId: String(i),
    observedAt: '2026-01-01T00:00:00.000Z',
    identifiers: [{ type: 'email', value: `person${i}@example.com` }],
    traits: { firstName: `First${i}`, lastName: `Last${i}`, city: `City ${i % 97}` },
  }));
}

/** One order for every person, in an order unrelated to the profiles' pages: every profile is written again. */
function orders(): CanonicalRecord[] {
  return Array.from({ length: PEOPLE }, (_, k) => {
    const i = (k * 7919) % PEOPLE;
    return {
      kind: 'track',
      source: 'shop',
      stream: 'orders',
      recordId: `o${k}`,
      observedAt: '2026-02-01T00:00:00.000Z',
      identifiers: [{ type: 'email', value: `person${i}@example.com` }],
      traits: {},
      event: { name: 'order_completed', properties: { amount: '9.99' }, revenue: 9.99, currency: 'EUR' },
    };
  });
}

describe.runIf(process.platform === 'linux')('writing a batch inside the engine transaction', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => {
    cleanup?.();
    cleanup = undefined;
  });

  it('writes each changed page once (to the WAL), not a second time to a statement journal', async () => {
    const scratch = scratchDir();
    cleanup = scratch.cleanup;
    const store = new SqliteStore(scratch.file, { commitThread: false });
    try {
      const ids = { n: 0 };
      await commit(store, people(), ids);
      const walBefore = statSync(`${scratch.file}-wal`).size;
      const written0 = wchar();
      const res = await commit(store, orders(), ids);
      const written = wchar() - written0;
      const walGrowth = statSync(`${scratch.file}-wal`).size - walBefore;

      // The orders did rewrite the profiles: hundreds of pages, far past the 64 KiB a statement journal keeps in memory.
      expect(res.profiles.length).toBe(PEOPLE);
      expect(walGrowth).toBeGreaterThan(1024 * 1024);
      // Everything handed to the kernel is the WAL's new frames. With the savepoint, 98 KiB more went to the
      // statement journal's file here; in the 1M pipeline, where the commit thread's page cache spills, about
      // as much as to the WAL.
      expect(written - walGrowth).toBeLessThan(16 * 1024);
    } finally {
      await store.close();
    }
  });
});
