import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ROWS_PER_BATCH, runSync, tempDir, writeConfig, writeData } from '../../test/crash/dataset.js';
import { consumedRows, runsOf, snapshotStore, tableCounts, type StoreSnapshot } from '../../test/crash/store-snapshot.js';
import { expectResumedLikeClean, extraMerges } from '../../test/crash/resumed-store.js';
import { enqueueSync, queueHarness, queuedConfig, stop, succeededRuns } from '../../test/crash/queue-harness.js';

// `tributary worker` stopped by SIGTERM between two checkpoints, with the commit thread on and off. The
// `read.after-record` fault point holds the worker after row CUT; the signal is sent then, and the sync runner sees
// the worker's stop before the next row. So the stop reaches the runner's signal (core/queue/worker.ts aborts the
// signal processSync passes to the engine) and the runner flushes what it read: every row read before the signal
// is committed and none after it, the run is `interrupted` and its job handed back to the queue, the checkpoint is
// the last one before the stop, and the worker that takes the job reads exactly the rest and leaves the store a
// clean run leaves.

const CUSTOMERS = 3_000;
const ORDERS = 1_000;
// Between the checkpoints at rows 1,000 and 1,500, at the start of a block of 50 rows (test/crash/dataset.ts): no rows a
// clean run resolves together lie on both sides of the stop, so the resumed store has no merge a clean run lacks.
const CUT = 1_250;
const LAST_CHECKPOINT = 2 * ROWS_PER_BATCH;

let dir: string;
let clean: StoreSnapshot;
const { started, newPrefix, start, until, cleanup } = queueHarness();

function maxCustomerRow(db: string): number {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return Number(d.prepare("SELECT MAX(CAST(record_id AS INTEGER)) FROM records WHERE stream = 'customers'").pluck().get());
  } finally {
    d.close();
  }
}

describe('tributary worker stopped by SIGTERM between checkpoints (BullMQ on the local Redis)', () => {
  beforeEach(() => {
    started.length = 0;
  });

  beforeAll(() => {
    dir = tempDir('queue-mid');
    writeData(dir, CUSTOMERS, ORDERS);
    const ref = writeConfig(dir, 'clean');
    const r = runSync(ref.config);
    expect(r.code, r.stderr).toBe(0);
    clean = snapshotStore(ref.db);
  });

  afterAll(async () => {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['on', true],
    ['off', false],
  ])('commit thread %s: the rows read before the signal are committed, the job is handed back, another worker completes the store', { timeout: 240_000 }, async (label, commitThread) => {
    const prefix = newPrefix(`mid-${label}`);
    // A lock the 4 s pause cannot outlast under load (its renewal is due every half of it): the job is handed back, never
    // taken back as stalled, and a stall would only blur what this test checks (the distributed test's 5 s lock once did).
    const { config, db } = queuedConfig(dir, `mid-${label}`, prefix, { commitThread, lockDurationMs: 20_000 });
    const first = start(['worker', '--config', config], { TRIBUTARY_FAULT: `read.after-record:pause=4000@${CUT}` });
    await until('the first worker started', () => /worker started/.test(first.log()));
    await enqueueSync(prefix);
    await until('the worker held after row CUT', () => /TRIBUTARY_FAULT: read\.after-record paused/.test(first.log()));
    expect(first.log()).toContain(`TRIBUTARY_FAULT: read.after-record paused 4000 ms (hit ${CUT})`);
    first.proc.kill('SIGTERM');
    expect((await first.exited).code, first.log()).toBe(0);
    expect(first.log()).toMatch(/sync crm interrupted after .*interrupted by SIGTERM.*; handed back to the queue/);

    // The stopped run: right after row CUT, recorded as interrupted with what it committed.
    const runs = runsOf(db);
    expect(runs.map((r) => [r.status, r.finished])).toEqual([['interrupted', true]]);
    const s = runs[0].summary!.streams;
    expect(s.customers.read + s.orders.read).toBe(CUT);
    const committed = tableCounts(db);
    expect(s.customers.written).toBe(committed.records);
    expect(s.customers.deadLettered).toBe(committed.dead_letters);
    // Every row read is committed, as a record or a dead letter (no key repeats in this data), and none past the stop.
    expect(committed.records + committed.dead_letters).toBe(CUT);
    expect(maxCustomerRow(db)).toBe(CUT - 1);
    expect(consumedRows(db, 'crm')).toEqual({ customers: LAST_CHECKPOINT });

    // Handed back, not left to stall: the next worker takes it at once and reads exactly the rows after the checkpoint.
    const second = start(['worker', '--config', config]);
    await until('the second worker to finish the sync', () => succeededRuns(db).length === 1, 120_000);
    await stop(second);
    expect(second.log()).not.toMatch(/was stalled/);
    const all = runsOf(db);
    expect(all.map((r) => r.status)).toEqual(['interrupted', 'succeeded']);
    const next = all[1].summary!.streams;
    expect([next.customers.read, next.orders.read]).toEqual([CUSTOMERS - LAST_CHECKPOINT, ORDERS]);
    expect(consumedRows(db, 'crm')).toEqual({ customers: CUSTOMERS, orders: ORDERS });
    const after = snapshotStore(db);
    expect(extraMerges(after, clean)).toEqual([]);
    expectResumedLikeClean(after, clean);
  });
});
