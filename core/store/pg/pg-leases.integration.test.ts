import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { BACKENDS, type LedgerBackend } from './__fixtures__/ledger-backends.js';
import { PgConn } from './pg-conn.js';
import { PgDeliveryLedger } from './pg-delivery.js';
import { CORE_PG_SCHEMA_SQL, migratePg } from './pg-schema.js';
import { DELIVERY_PG_SCHEMA_SQL } from './pg-delivery.js';
import { TEST_PG_URL, dropSchema, uniqueSchema } from './__fixtures__/pg-test.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** The pid of a process of this host that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe.each(BACKENDS)('leases on %s', (_kind, openBackend) => {
  async function backend(): Promise<LedgerBackend> {
    const b = await openBackend('lease');
    cleanup.push(() => b.close());
    return b;
  }

  it('one holder at a time; the holder takes it again, renews and releases it', async () => {
    const { ledger } = await backend();
    expect(await ledger.acquireLease('deliver:out', 'run-1', 60_000)).toBeUndefined();
    expect(await ledger.acquireLease('deliver:out', 'run-2', 60_000)).toEqual({ holder: `${hostname()} pid ${process.pid}` });
    expect(await ledger.acquireLease('deliver:other', 'run-2', 60_000)).toBeUndefined();
    expect(await ledger.acquireLease('deliver:out', 'run-1', 60_000)).toBeUndefined();
    // A release by someone else changes nothing.
    await ledger.releaseLease('deliver:out', 'run-2');
    expect(await ledger.acquireLease('deliver:out', 'run-2', 60_000)).toEqual({ holder: expect.any(String) });
    await ledger.releaseLease('deliver:out', 'run-1');
    expect(await ledger.acquireLease('deliver:out', 'run-2', 60_000)).toBeUndefined();
  });

  it('an expired lease is taken over; a renewed one is not', async () => {
    const { ledger } = await backend();
    expect(await ledger.acquireLease('a', 'run-1', 1)).toBeUndefined();
    expect(await ledger.acquireLease('b', 'run-1', 1)).toBeUndefined();
    await ledger.renewLease('b', 'run-1', 60_000);
    // A renewal by someone else does not extend it.
    await ledger.renewLease('a', 'run-9', 60_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(await ledger.acquireLease('a', 'run-2', 60_000)).toBeUndefined();
    expect(await ledger.acquireLease('b', 'run-2', 60_000)).toEqual({ holder: expect.any(String) });
  });

  it('a holder on this host whose process is gone is taken over; one on another host is not', async () => {
    const b = await backend();
    const pid = deadPid();
    const later = Date.now() + 600_000;
    await b.exec('INSERT INTO leases(name, owner, pid, host, expires_at) VALUES (?, ?, ?, ?, ?)', ['here', 'ghost', pid, hostname(), later]);
    await b.exec('INSERT INTO leases(name, owner, pid, host, expires_at) VALUES (?, ?, ?, ?, ?)', ['there', 'ghost', pid, 'another-host', later]);
    expect(await b.ledger.acquireLease('here', 'run-1', 60_000)).toBeUndefined();
    expect(await b.ledger.acquireLease('there', 'run-1', 60_000)).toEqual({ holder: `another-host pid ${pid}` });
    const rows = await b.all<{ owner: string; pid: number }>('SELECT owner, pid FROM leases WHERE name = ?', ['here']);
    expect(rows).toEqual([{ owner: 'run-1', pid: process.pid }]);
  });
});

describe('leases on postgres under concurrency', () => {
  /** Ten workers, each with a pool of its own (as ten processes would have), on one fresh schema. */
  async function workers(n: number): Promise<{ ledgers: PgDeliveryLedger[]; conn: PgConn }> {
    const schema = uniqueSchema('lease_race');
    const conns = Array.from({ length: n }, () => new PgConn({ url: TEST_PG_URL, schema, max: 1 }));
    cleanup.push(async () => {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
      await dropSchema(schema);
    });
    await migratePg(conns[0], [CORE_PG_SCHEMA_SQL, DELIVERY_PG_SCHEMA_SQL]);
    const noDeadLetters = { insertDeadLetter: async () => undefined };
    // Connect every pool first, so the acquires start together rather than in connection order.
    await Promise.all(conns.map((c) => c.q('SELECT 1')));
    return { ledgers: conns.map((c) => new PgDeliveryLedger(c, noDeadLetters)), conn: conns[0] };
  }

  it('10 concurrent acquires of a free lease: exactly one wins', async () => {
    const { ledgers, conn } = await workers(10);
    const results = await Promise.all(ledgers.map((l, i) => l.acquireLease('deliver:out', `worker-${i}`, 60_000)));
    expect(results.filter((r) => r === undefined).length).toBe(1);
    const winner = results.findIndex((r) => r === undefined);
    expect(await conn.q('SELECT owner FROM leases')).toEqual([{ owner: `worker-${winner}` }]);
  });

  it('10 concurrent take-overs of an expired lease: exactly one wins', async () => {
    const { ledgers, conn } = await workers(10);
    await conn.q("INSERT INTO leases(name, owner, pid, host, expires_at) VALUES ('deliver:out', 'old', 1, 'another-host', 0)");
    const results = await Promise.all(ledgers.map((l, i) => l.acquireLease('deliver:out', `worker-${i}`, 60_000)));
    expect(results.filter((r) => r === undefined).length).toBe(1);
    const winner = results.findIndex((r) => r === undefined);
    expect(await conn.q('SELECT owner FROM leases')).toEqual([{ owner: `worker-${winner}` }]);
  });
});
