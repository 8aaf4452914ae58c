import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ROWS_PER_BATCH, runSync, startCli, tempDir, writeConfig, writeData } from './crash/dataset.js';
import { consumedRows, runsOf, snapshotStore, type StoreSnapshot } from './crash/store-snapshot.js';
import { expectResumedLikeClean, extraMerges } from './crash/resumed-store.js';

// `tributary run` stopped by SIGTERM between two checkpoints, with the commit thread on and off. The stop lands where
// the test chooses it: the `read.after-record` fault point holds the process after row CUT, the signal is sent then,
// and the read loop sees it before the next row. What a graceful stop promises, checked exactly: every row read
// before the signal is committed (a record or a dead letter) and none after it, the run is recorded `interrupted`
// with those counts, the checkpoint is the last one the source gave before the stop, and the next run reads exactly
// the rows after it and leaves the store a clean run leaves.

const CUSTOMERS = 3_000;
const ORDERS = 1_000;
// Half-way between the checkpoints at rows 1,000 and 1,500, at the start of a block of 50 rows (dataset.ts): the rows
// a clean run resolves together (Dora's three) are all on one side of the stop, so a resumed run makes no extra merge.
const CUT = 1_250;
const LAST_CHECKPOINT = 2 * ROWS_PER_BATCH;

const dir = tempDir('daemon-mid');
let clean: StoreSnapshot;

beforeAll(() => {
  writeData(dir, CUSTOMERS, ORDERS);
  const ref = writeConfig(dir, 'clean');
  const r = runSync(ref.config);
  expect(r.code, r.stderr).toBe(0);
  clean = snapshotStore(ref.db);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function one(db: string, sql: string): number {
  const d = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return Number(d.prepare(sql).pluck().get());
  } finally {
    d.close();
  }
}

describe('tributary run stopped by SIGTERM between checkpoints', () => {
  it.each([
    ['on', true],
    ['off', false],
  ])('commit thread %s: the rows read before the signal are committed, the run is interrupted, the next run completes the store', { timeout: 120_000 }, async (label, commitThread) => {
    const { config, db } = writeConfig(dir, `daemon-${label}`, { schedule: '* * * * * *', commitThread });
    const child = startCli(['run', '--config', config], `read.after-record:pause=4000@${CUT}`);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!stderr.includes('TRIBUTARY_FAULT: read.after-record paused') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(stderr).toContain(`TRIBUTARY_FAULT: read.after-record paused 4000 ms (hit ${CUT})`);
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(stderr).toContain('SIGTERM: finishing the current batch, then stopping');
    expect(stderr).toMatch(/sync crm interrupted after .*interrupted by SIGTERM/);

    // The run: stopped right after row CUT, recorded as interrupted (not running, not failed) with what it committed.
    const runs = runsOf(db);
    expect(runs.map((r) => [r.status, r.finished])).toEqual([['interrupted', true]]);
    const s = runs[0].summary!.streams;
    expect(s.customers.read + s.orders.read).toBe(CUT);
    const records = one(db, 'SELECT COUNT(*) FROM records');
    const deadLetters = one(db, 'SELECT COUNT(*) FROM dead_letters');
    expect(s.customers.written).toBe(records);
    expect(s.customers.deadLettered).toBe(deadLetters);
    // Every row read is committed, as a record or a dead letter (no key repeats in this data), and none past the stop.
    expect(records + deadLetters).toBe(CUT);
    expect(one(db, "SELECT MAX(CAST(record_id AS INTEGER)) FROM records WHERE stream = 'customers'")).toBe(CUT - 1);
    // The checkpoint is the source's last one before the stop: the rows after it were committed without one.
    expect(consumedRows(db, 'crm')).toEqual({ customers: LAST_CHECKPOINT });

    // The next run reads exactly the rows after that checkpoint and leaves the store a clean run leaves.
    const r = runSync(config);
    expect(r.code, r.stderr).toBe(0);
    const next = (JSON.parse(r.stdout) as { runs: Array<{ summary: { streams: Record<string, { read: number }> } }> }).runs[0].summary.streams;
    expect([next.customers.read, next.orders.read]).toEqual([CUSTOMERS - LAST_CHECKPOINT, ORDERS]);
    expect(consumedRows(db, 'crm')).toEqual({ customers: CUSTOMERS, orders: ORDERS });
    const after = snapshotStore(db);
    expect(extraMerges(after, clean)).toEqual([]);
    expectResumedLikeClean(after, clean);
  });
});
