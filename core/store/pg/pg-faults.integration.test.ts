import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { PgConn } from './pg-conn.js';
import { TEST_PG_URL, dropSchema, uniqueSchema } from './__fixtures__/pg-test.js';
import { cli, pgPartition, pgSnapshot, resolveLockHolder, type CliResult } from './__fixtures__/pg-engine.js';
import { customerLines, orderLines } from '../../../test/crash/dataset.js';

// Concurrency and a dropped connection, with the real CLI in child processes on
// one PostgreSQL schema each:
// - two processes syncing overlapping people at the same time give one profile
//   per person and the partition of a single process that syncs both (real
//   processes, real timing: this one passed once with the resolve lock removed,
//   the two did not happen to meet on a person; pg-concurrency.integration.test.ts
//   forces the meeting and fails without the lock);
// - the server dropping the connection of a batch inside its transaction (the
//   backend terminated while a fault point holds the batch before COMMIT) makes
//   the engine retry from the last checkpoint, and the final store equals a clean run's.

const PEOPLE = 3000;
let dir: string;
const schemas: string[] = [];
const admin = new PgConn({ url: TEST_PG_URL, max: 2 });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `trib-pgfault-${process.pid}-`));
  // Two sources that meet on the same people: `left` knows e-mails (and the phone of odd-numbered people),
  // `right` knows phones (and the e-mail of even-numbered ones, but not of every 5th): those people get two
  // profiles first, merged by a record of both at the end of `right`. Exact identifiers only, no names, no
  // limits reached: the partition does not depend on the order batches are resolved in.
  const left = ['id,email,phone'];
  const right = ['id,email,phone'];
  const email = (i: number) => `person${i}@mail-box.net`;
  const phone = (i: number) => `+1415${String(2000000 + i)}`;
  for (let i = 0; i < PEOPLE; i++) {
    left.push(`L${i},${email(i)},${i % 2 === 1 ? phone(i) : ''}`);
    right.push(`R${i},${i % 2 === 0 && i % 5 !== 0 ? email(i) : ''},${phone(i)}`);
  }
  for (let i = 0; i < PEOPLE; i += 10) right.push(`B${i},${email(i)},${phone(i)}`);
  writeFileSync(join(dir, 'left.csv'), left.join('\n') + '\n');
  writeFileSync(join(dir, 'right.csv'), right.join('\n') + '\n');
  writeFileSync(join(dir, 'customers.csv'), ['id,first_name,email,phone,updated_at,crm', ...customerLines(6000)].join('\n') + '\n');
  writeFileSync(join(dir, 'orders.csv'), ['id,email,amount,at', ...orderLines(2000, 6000)].join('\n') + '\n');
});
afterAll(async () => {
  await admin.close().catch(() => undefined);
  await Promise.all(schemas.map((s) => dropSchema(s).catch(() => undefined)));
  rmSync(dir, { recursive: true, force: true });
});

function schemaFor(tag: string): string {
  const s = uniqueSchema(tag);
  schemas.push(s);
  return s;
}

const source = (name: string) => ({
  name,
  connector: 'csv',
  batchSize: 100,
  config: { checkpointEvery: 100 },
  streams: [{ name: 'people', primaryKey: 'id', config: { path: join(dir, `${name}.csv`) }, mapping: { identifiers: { email: 'email', phone: 'phone' } } }],
});

function overlapConfig(name: string, schema: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ store: { postgres: TEST_PG_URL, schema }, sources: [source('left'), source('right')] }));
  return file;
}

function ok(r: CliResult): void {
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout).ok, r.stdout).toBe(true);
}

describe('two processes resolving overlapping records at the same time', () => {
  it('one profile per person, no lost merge: the partition of a single process syncing both', async () => {
    const single = schemaFor('single');
    ok(await cli(['sync', '--config', overlapConfig('single', single), '--json', '--no-deliver']).done);
    const shared = schemaFor('shared');
    const config = overlapConfig('shared', shared);
    const [a, b] = await Promise.all([
      cli(['sync', 'left', '--config', config, '--json', '--no-deliver']).done,
      cli(['sync', 'right', '--config', config, '--json', '--no-deliver']).done,
    ]);
    ok(a);
    ok(b);
    const conn = (schema: string) => new PgConn({ url: TEST_PG_URL, schema, max: 1 });
    const s = conn(single);
    const c = conn(shared);
    try {
      // The two runs did overlap in time (else this would prove nothing about concurrency).
      const runs = await c.q<{ started_at: string; finished_at: string }>("SELECT started_at, finished_at FROM runs WHERE kind = 'sync' ORDER BY id");
      expect(runs).toHaveLength(2);
      expect(runs[0].finished_at > runs[1].started_at && runs[1].finished_at > runs[0].started_at).toBe(true);
      const expected = await pgPartition(s);
      // Every person is one profile of their records (L and R, and B for every 10th, which merged two).
      expect(expected.profiles).toHaveLength(PEOPLE);
      expect(expected.profiles.filter((p) => p.records.length === 3)).toHaveLength(PEOPLE / 10);
      expect(Number((await s.q<{ n: string }>('SELECT count(*) AS n FROM merges'))[0].n)).toBe(PEOPLE / 10);
      expect(await pgPartition(c)).toEqual(expected);
      expect(Number((await c.q<{ n: string }>('SELECT count(*) AS n FROM profiles'))[0].n)).toBe(PEOPLE);
    } finally {
      await s.close();
      await c.close();
    }
  }, 300_000);
});

function crmConfig(name: string, schema: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      store: { postgres: TEST_PG_URL, schema },
      sources: [
        {
          name: 'crm',
          connector: 'csv',
          batchSize: 400,
          retry: { attempts: 3, initialDelayMs: 200, maxDelayMs: 1000 },
          config: { checkpointEvery: 500 },
          streams: [
            {
              name: 'customers',
              primaryKey: 'id',
              config: { path: join(dir, 'customers.csv') },
              mapping: { identifiers: { email: 'email', phone: 'phone', 'external_id.crm': 'crm' }, traits: { firstName: 'first_name' }, observedAt: 'updated_at' },
            },
            {
              name: 'orders',
              kind: 'track',
              primaryKey: 'id',
              config: { path: join(dir, 'orders.csv') },
              mapping: { identifiers: { email: 'email' }, observedAt: 'at', event: { name: 'order', revenue: 'amount' } },
            },
          ],
        },
      ],
      resolution: {
        unidentified: 'dead-letter',
        computed: { orders: { event: 'order', op: 'count' }, spent: { event: 'order', op: 'sum', property: 'revenue' } },
      },
    }),
  );
  return file;
}

describe('PostgreSQL connection dropped mid-batch', () => {
  it('the batch is retried from the last checkpoint, nothing half-committed: the store equals a clean run', async () => {
    const clean = schemaFor('clean');
    ok(await cli(['sync', '--config', crmConfig('clean', clean), '--json', '--no-deliver']).done);

    const dropped = schemaFor('dropped');
    // The 4th batch stops for 4 s inside its transaction, before COMMIT, holding the resolve lock.
    const run = cli(['sync', '--config', crmConfig('dropped', dropped), '--json', '--no-deliver'], { TRIBUTARY_FAULT: 'pgcommit.inside:pause=4000@4' });
    let holder: number | undefined;
    const deadline = Date.now() + 120_000;
    while (holder === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      holder = await resolveLockHolder(admin, dropped, 1000);
    }
    expect(holder, 'a batch holding the resolve lock').toBeDefined();
    const c = new PgConn({ url: TEST_PG_URL, schema: dropped, max: 1 });
    try {
      // The paused batch's rows are written but not visible to anyone else: the three batches before it are
      // (500 rows each, 4 of every 50 a dead letter or an update of an earlier key).
      const before = await c.q<{ n: string }>('SELECT count(*) AS n FROM records');
      expect(Number(before[0].n)).toBeGreaterThan(1000);
      expect(Number(before[0].n)).toBeLessThan(1500);
      // The run's row is written in each batch's transaction: it claims the three committed batches (1,500 rows read),
      // not the paused one (its counts are in its transaction, invisible here). Not written with the batch, the row would
      // have no counts yet: the heartbeat writes none (that mutation fails this with 0).
      const running = await c.q<{ summary: string | null }>("SELECT summary FROM runs WHERE kind = 'sync' AND status = 'running'");
      expect(running).toHaveLength(1);
      const streams = (JSON.parse(running[0].summary ?? '{"streams":{}}') as { streams: Record<string, { read: number }> }).streams;
      expect(Object.values(streams).reduce((n, s) => n + s.read, 0)).toBe(1500);
      const killed = await admin.q<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [holder]);
      expect(killed[0].ok).toBe(true);
      const r = await run.done;
      ok(r);
      expect(r.stderr).toMatch(/retrying in \d+ ms \(attempt 2 of 3\)/);
      const [got, want] = [await pgSnapshot(c), await pgSnapshot(new PgConn({ url: TEST_PG_URL, schema: clean, max: 1 }))];
      expect(got.records.length).toBeGreaterThan(5000);
      expect(got.merges.length).toBeGreaterThan(0);
      for (const t of Object.keys(want)) expect({ t, rows: got[t] }).toEqual({ t, rows: want[t] });
    } finally {
      await c.close();
    }
  }, 300_000);
});
