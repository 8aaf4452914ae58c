import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { runSync, startCli, tempDir, writeConfig, writeData } from './crash/dataset.js';
import { consumedRows, runsOf, snapshotStore, type StoreSnapshot } from './crash/store-snapshot.js';

// `tributary run` stopped with SIGTERM mid-sync: the batch in flight is
// committed (every row the run read is in the store, as a record or a dead
// letter), the run is recorded as finished, and the next run reads exactly the
// rows after the last checkpoint and leaves the store a clean run leaves.

const CUSTOMERS = 12_000;
const ORDERS = 4_000;
const TOTAL = CUSTOMERS + ORDERS;
const dir = tempDir('daemon');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function count(db: string, sql: string): number {
  try {
    const d = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return Number(d.prepare(sql).pluck().get());
    } finally {
      d.close();
    }
  } catch {
    return 0; // not created yet, or its schema not yet written
  }
}

/**
 * The store as a clean run leaves it, minus what reading the rows after the last
 * checkpoint a second time may legitimately change: sequence numbers (records,
 * refusals and the outbox are re-upserted, so they take new ones), the profiles a
 * refusal names (a re-read record is in its own profile by then), and how many
 * times one bad row is dead-lettered (see the report: the stopped run committed
 * them without a checkpoint, so the next run dead-letters them again). Everything
 * else must be equal: records and their profiles, links, identifiers, merges,
 * aliases, the outbox's profiles and merged ids, profiles, state, and the set of
 * dead letters with their payloads.
 */
function reReadView(s: StoreSnapshot) {
  const drop = (rows: unknown[], ...cols: string[]) =>
    rows.map((r) => Object.fromEntries(Object.entries(r as Record<string, unknown>).filter(([k]) => !cols.includes(k))));
  const distinct = (rows: unknown[]) => [...new Set(rows.map((r) => JSON.stringify(r)))].sort();
  return {
    ...s,
    records: drop(s.records, 'seq'),
    refused: distinct(drop(s.refused, 'seq', 'profiles')),
    outbox: distinct(drop(s.outbox, 'seq')),
    // Counters of transactions (outbox seqs, graph-writing commits) depend on how many batches the runs took.
    meta: drop(s.meta.filter((m) => !['outbox_seq', 'graph_generation'].includes((m as { key: string }).key))),
    deadLetters: distinct(drop(s.deadLetters, 'id')),
  };
}

describe('tributary run (the daemon)', () => {
  it('SIGTERM commits the batch in flight and records the run as finished; the next run reads exactly the rest', { timeout: 180_000 }, async () => {
    writeData(dir, CUSTOMERS, ORDERS);
    const clean = writeConfig(dir, 'clean');
    expect(runSync(clean.config).code).toBe(0);

    const { config, db } = writeConfig(dir, 'daemon', { schedule: '* * * * * *' });
    const child = startCli(['run', '--config', config]);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (count(db, 'SELECT COUNT(*) FROM records') === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(count(db, 'SELECT COUNT(*) FROM records')).toBeGreaterThan(0);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('scheduled sync crm');
    expect(stderr).toContain('SIGTERM: finishing the current batch, then stopping');

    // One run, stopped early and recorded as finished (not left `running`).
    const runs = runsOf(db);
    expect(runs).toHaveLength(1);
    expect(runs[0].finished).toBe(true);
    expect(runs[0].status).not.toBe('running');
    expect(runs[0].status).not.toBe('failed');
    const read = runs[0].summary!.streams.customers.read + runs[0].summary!.streams.orders.read;
    expect(read).toBeLessThan(TOTAL);
    // Every row it read is committed: as a record or as a dead letter (this data has no duplicate keys).
    expect(count(db, 'SELECT COUNT(*) FROM records') + count(db, 'SELECT COUNT(*) FROM dead_letters')).toBe(read);

    // The next run starts at the last committed checkpoint and reads exactly what is after it.
    const c = consumedRows(db, 'crm');
    const done = (c.customers ?? 0) + (c.orders ?? 0);
    expect(done).toBeLessThanOrEqual(read);
    const r = runSync(config);
    expect(r.code, r.stderr).toBe(0);
    const next = (JSON.parse(r.stdout) as { runs: Array<{ summary: { streams: Record<string, { read: number }> } }> }).runs[0].summary.streams;
    expect(next.customers.read).toBe(CUSTOMERS - (c.customers ?? 0));
    expect(next.orders.read).toBe(ORDERS - (c.orders ?? 0));
    expect(consumedRows(db, 'crm')).toEqual({ customers: CUSTOMERS, orders: ORDERS });
    expect(reReadView(snapshotStore(db))).toEqual(reReadView(snapshotStore(clean.db)));
  });
});
