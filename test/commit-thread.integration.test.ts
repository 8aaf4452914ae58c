import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { FaultPoint } from '../core/util/fault-points.js';
import { ROWS_PER_BATCH, runSync, tempDir, writeConfig, writeData, type SyncResult } from './crash/dataset.js';
import { consumedRows, firstDifference, runsOf, snapshotStore, tableCounts, type StoreSnapshot } from './crash/store-snapshot.js';

// The SQLite store's commit thread (`store: { sqlite, commitThread: true }`,
// core/store/commit-pipeline.ts) writes batch N while the main thread reads and
// resolves batch N+1. Each batch is still one transaction with its checkpoint, so
// what a sync leaves, and what a crash leaves, must be what it is without the
// thread: the same store as a run without it, table by table; a SIGKILL in any
// phase loses nothing committed and repeats nothing; a batch that fails in the
// thread takes no later batch with it. The CLI runs in a child process, with
// TRIBUTARY_FAULT (core/util/fault-points.ts) placing each failure; the commit.*
// points fire inside the thread, resolve.inside-lock and batch.after-commit on
// the main thread.

const CUSTOMERS = 12_000; // 24 batches
const ORDERS = 4_000; // 8 batches (25..32)
const TOTAL = CUSTOMERS + ORDERS;
const BATCHES = TOTAL / ROWS_PER_BATCH;

let dir: string;
/** A run without the thread, and one with it. */
let plain: StoreSnapshot;
let threaded: StoreSnapshot;
let plainStreams: unknown;

type Streams = Record<string, { read: number; written: number; deadLettered: number }>;

function summaryOf(r: SyncResult) {
  expect(r.stdout, r.stderr).not.toBe('');
  return JSON.parse(r.stdout) as { ok: boolean; runs: Array<{ ok: boolean; error?: string; summary?: { streams: Streams } }> };
}

function consumed(db: string): number {
  const c = consumedRows(db, 'crm');
  return (c.customers ?? 0) + (c.orders ?? 0);
}

/** Rows per stream after `rows` rows of the two files, read in order. */
function split(rows: number) {
  return rows > CUSTOMERS ? { customers: CUSTOMERS, orders: rows - CUSTOMERS } : rows > 0 ? { customers: rows } : {};
}

/** Rows the store holds, as records or dead letters (this data has no duplicate keys, so each row read is one of them). */
function storedRows(db: string): number {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return Number(d.prepare('SELECT (SELECT COUNT(*) FROM records) + (SELECT COUNT(*) FROM dead_letters)').pluck().get());
  } finally {
    d.close();
  }
}

/** Every table equal, each failure naming the first differing row. */
function expectSameStore(actual: StoreSnapshot, expected: StoreSnapshot, labels: { actual: string; expected: string }) {
  for (const table of Object.keys(expected) as Array<keyof StoreSnapshot>) {
    expect(firstDifference(actual[table], expected[table], labels), `table ${table}`).toBeUndefined();
  }
}

describe('the SQLite commit thread under crashes', () => {
  beforeAll(() => {
    dir = tempDir('cthread');
    writeData(dir, CUSTOMERS, ORDERS);
    const a = writeConfig(dir, 'plain', { commitThread: false });
    const ra = runSync(a.config);
    expect(ra.code, ra.stderr).toBe(0);
    plainStreams = summaryOf(ra).runs[0].summary?.streams;
    plain = snapshotStore(a.db);
    const b = writeConfig(dir, 'threaded', { commitThread: true });
    const rb = runSync(b.config);
    expect(rb.code, rb.stderr).toBe(0);
    expect(summaryOf(rb).runs[0].summary?.streams).toEqual(plainStreams);
    threaded = snapshotStore(b.db);
    expect(storedRows(b.db)).toBe(TOTAL);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the thread is really on: the next batch is resolved while the one before it has not reached COMMIT', { timeout: 60_000 }, () => {
    // The thread blocks 3 s just before the COMMIT of batch 1; the process dies when batch 2 starts resolving. Without a
    // thread batch 1 is committed before batch 2 is read; with it the main thread reaches batch 2 during the pause.
    const fault = 'commit.inside:pause=3000@1,resolve.inside-lock:kill@2';
    const on = writeConfig(dir, 'probe-on', { commitThread: true });
    expect(runSync(on.config, fault).signal).toBe('SIGKILL');
    expect(consumedRows(on.db, 'crm')).toEqual({});
    expect(tableCounts(on.db).records).toBe(0);
    const off = writeConfig(dir, 'probe-off', { commitThread: false });
    expect(runSync(off.config, fault).signal).toBe('SIGKILL');
    expect(consumedRows(off.db, 'crm')).toEqual({ customers: ROWS_PER_BATCH });
  });

  it('a sync with the thread leaves the store a sync without it leaves, every table', () => {
    // Nothing may differ: the same batches, resolved in the same order on the same graph, give the same ids in the same
    // order, the same sequence numbers, the same outbox and counters (meta holds graph_generation and outbox_seq).
    expectSameStore(threaded, plain, { actual: 'with the thread', expected: 'without' });
    expect(threaded.merges.length).toBeGreaterThan(0);
    expect(threaded.outbox).toHaveLength(threaded.profiles.length);
  });

  it('killed in every phase, then finished, it equals a clean run; each run resumes where the last COMMIT left off', { timeout: 300_000 }, () => {
    const { config, db } = writeConfig(dir, 'killed', { commitThread: true });
    // [point, hit, fewest, most]: batches of that process committed when it dies at the hit-th batch reaching the point.
    // In the thread (commit.*) the count is exact: it writes one batch at a time, in order, so at batch n's point batch
    // n-1 is committed and batch n is not (commit.after: it is). On the main thread it is not: while batch n is resolved
    // batch n-1 may still be in flight, and after batch n's commit batch n+1 may already be written.
    const kills: Array<[FaultPoint, number, number, number]> = [
      ['resolve.inside-lock', 3, 1, 2], // main thread, resolving batch 3; batch 2 may be in flight
      ['commit.before-transaction', 2, 1, 1],
      ['commit.after-records', 3, 2, 2], // records of batch 3 written, the rest of it not
      ['commit.before-commit', 2, 1, 1], // all of batch 2 written, checkpoint included, not committed
      ['commit.inside', 6, 5, 5], // at COMMIT
      ['commit.after', 2, 2, 2], // just after COMMIT
      ['batch.after-commit', 13, 13, 14], // main thread, after batch 13's commit; batch 14 may be written too
    ];
    let rows = 0;
    const seen: string[] = [];
    for (const [point, hit, fewest, most] of kills) {
      const r = runSync(config, `${point}:kill@${hit}`);
      const at = `${point}@${hit}`;
      expect(r.signal, `${at}: ${r.stderr}`).toBe('SIGKILL');
      const now = consumed(db);
      const batches = (now - rows) / ROWS_PER_BATCH;
      seen.push(`${at}: ${batches}`);
      // Whole batches only, within what the fault's place allows; never back.
      expect(Number.isInteger(batches), `${at}: ${now - rows} rows`).toBe(true);
      expect(batches, at).toBeGreaterThanOrEqual(fewest);
      expect(batches, at).toBeLessThanOrEqual(most);
      expect(fewest).toBeGreaterThanOrEqual(hit - 2);
      // The run row is written in each batch's transaction: it claims exactly what that process committed.
      const run = runsOf(db).at(-1)!;
      const claimed = run.summary ? Object.values(run.summary.streams).reduce((a, s) => a + s.read, 0) : 0;
      expect(claimed, at).toBe(now - rows);
      rows = now;
      expect(consumedRows(db, 'crm'), at).toEqual(split(rows));
      // What the state says is consumed is exactly what is stored: no row of an uncommitted batch, none missing.
      expect(storedRows(db), at).toBe(rows);
    }
    console.log(`commit thread kills, batches committed per process: ${seen.join(', ')}`);
    expect(rows).toBeGreaterThan(CUSTOMERS);
    expect(rows).toBeLessThan(TOTAL);

    const last = runSync(config);
    expect(last.code, last.stderr).toBe(0);
    const streams = summaryOf(last).runs[0].summary!.streams;
    expect({ customers: streams.customers.read, orders: streams.orders.read }).toEqual({ customers: 0, orders: TOTAL - rows });
    expect(consumed(db)).toBe(TOTAL);
    expectSameStore(snapshotStore(db), threaded, { actual: 'killed and resumed', expected: 'clean' });
    const runs = runsOf(db);
    expect(runs).toHaveLength(kills.length + 1);
    for (const run of runs.slice(0, -1)) expect(['running', 'interrupted']).toContain(run.status);
    expect(runs.at(-1)).toMatchObject({ status: 'succeeded', finished: true });
  });

  it('a batch that fails in the thread leaves nothing of itself or of later batches; the next run commits it all', { timeout: 180_000 }, () => {
    // The reference: a store whose process died right after its 2nd batch was committed. Without the thread that is
    // exactly 2 batches (with it batch 3 may be written before the kill); the stores are the same either way (test above).
    const ref = writeConfig(dir, 'reference', { commitThread: false });
    expect(runSync(ref.config, 'batch.after-commit:kill@2').signal).toBe('SIGKILL');

    const failing = writeConfig(dir, 'failing', { commitThread: true });
    const r1 = runSync(failing.config, 'commit.after-records:throw@3');
    expect(r1.code).toBe(1);
    expect(summaryOf(r1).runs[0]).toMatchObject({ ok: false, error: expect.stringMatching(/fault injected at commit\.after-records \(hit 3\)/) });
    expect(tableCounts(failing.db)).toEqual(tableCounts(ref.db));
    expectSameStore(snapshotStore(failing.db), snapshotStore(ref.db), { actual: 'failed at batch 3', expected: 'killed after batch 2' });
    expect(consumedRows(failing.db, 'crm')).toEqual({ customers: 2 * ROWS_PER_BATCH });

    const r2 = runSync(failing.config);
    expect(r2.code, r2.stderr).toBe(0);
    const streams = summaryOf(r2).runs[0].summary!.streams;
    expect({ customers: streams.customers.read, orders: streams.orders.read }).toEqual({ customers: CUSTOMERS - 2 * ROWS_PER_BATCH, orders: ORDERS });
    expectSameStore(snapshotStore(failing.db), threaded, { actual: 'failed, then run again', expected: 'clean' });
    expect(runsOf(failing.db).map((r) => r.status)).toEqual(['failed', 'succeeded']);
  });

  it('the run waits for the batches in the thread: a failure in the last one fails the run', { timeout: 120_000 }, () => {
    // The read ends with batch 32 still in the thread; a run that reported success then would claim rows it never stored.
    const { config, db } = writeConfig(dir, 'last-fails', { commitThread: true });
    const r1 = runSync(config, `commit.after-records:throw@${BATCHES}`);
    expect(r1.code, r1.stdout).toBe(1);
    expect(summaryOf(r1).runs[0]).toMatchObject({ ok: false, error: expect.stringMatching(/fault injected at commit\.after-records/) });
    expect(runsOf(db).map((r) => r.status)).toEqual(['failed']);
    expect(consumed(db)).toBe(TOTAL - ROWS_PER_BATCH);
    expect(storedRows(db)).toBe(TOTAL - ROWS_PER_BATCH);
    const r2 = runSync(config);
    expect(r2.code, r2.stderr).toBe(0);
    expect(summaryOf(r2).runs[0].summary!.streams.orders.read).toBe(ROWS_PER_BATCH);
    expectSameStore(snapshotStore(db), threaded, { actual: 'last batch failed, then run again', expected: 'clean' });
  });

  it('a batch that fails before the next one starts stops the run: the read\'s final checkpoint is not committed after it', { timeout: 120_000 }, () => {
    // The last batch of rows fails in the thread while the main thread is held before the batch that carries only the
    // read's final checkpoint; the pipeline then has nothing in flight. That checkpoint must not be committed: it would
    // claim as read the rows of the batch that failed, and the next run would never read them.
    const { config, db } = writeConfig(dir, 'fails-first', { commitThread: true });
    const r1 = runSync(config, `commit.after-records:throw@${BATCHES},batch.before-resolve:pause=1500@${BATCHES + 1}`);
    expect(r1.code, r1.stdout).toBe(1);
    expect(r1.stderr).toContain(`batch.before-resolve paused 1500 ms (hit ${BATCHES + 1})`);
    expect(summaryOf(r1).runs[0]).toMatchObject({ ok: false, error: expect.stringMatching(/fault injected at commit\.after-records/) });
    expect(consumed(db)).toBe(TOTAL - ROWS_PER_BATCH);
    expect(storedRows(db)).toBe(TOTAL - ROWS_PER_BATCH);
    const r2 = runSync(config);
    expect(r2.code, r2.stderr).toBe(0);
    expectSameStore(snapshotStore(db), threaded, { actual: 'last batch failed first, then run again', expected: 'clean' });
  });

  it('a failed batch whose successor is already in the thread: the successor is refused, not written on top', { timeout: 180_000 }, () => {
    // Batch 26 (orders: no merges, so batch 27 is resolved on it without waiting) is held 2 s before its transaction,
    // long enough for batch 27 to be handed over behind it; then it fails. Batch 27 was resolved on a batch that is not
    // in the store and must not be written: the store is the one of 25 batches.
    const failAt = 26;
    const ref = writeConfig(dir, 'reference-25', { commitThread: false });
    expect(runSync(ref.config, `batch.after-commit:kill@${failAt - 1}`).signal).toBe('SIGKILL');

    const failing = writeConfig(dir, 'failing-26', { commitThread: true });
    const r1 = runSync(failing.config, `commit.before-transaction:pause=2000@${failAt},commit.after-records:throw@${failAt}`);
    expect(r1.code).toBe(1);
    expect(summaryOf(r1).runs[0]).toMatchObject({ ok: false, error: expect.stringMatching(/fault injected at commit\.after-records/) });
    expect(consumedRows(failing.db, 'crm')).toEqual(split((failAt - 1) * ROWS_PER_BATCH));
    expect(tableCounts(failing.db)).toEqual(tableCounts(ref.db));
    expectSameStore(snapshotStore(failing.db), snapshotStore(ref.db), { actual: `failed at batch ${failAt}`, expected: `killed after ${failAt - 1}` });

    const r2 = runSync(failing.config);
    expect(r2.code, r2.stderr).toBe(0);
    expect(summaryOf(r2).runs[0].summary!.streams.orders.read).toBe(TOTAL - (failAt - 1) * ROWS_PER_BATCH);
    expectSameStore(snapshotStore(failing.db), threaded, { actual: 'failed, then run again', expected: 'clean' });
    expect(BATCHES).toBeGreaterThan(failAt);
  });
});
