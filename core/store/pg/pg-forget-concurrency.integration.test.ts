import { afterEach, describe, expect, it } from 'vitest';
import { postgresSide, type Side } from './__fixtures__/dual.js';
import { ADA_EMAIL, ADA_EMAIL_KEY, AT, putRecord, record, seedPeople } from './__fixtures__/people.js';
import type { PgConn } from './pg-conn.js';
import { forgetInTransaction, lockResolve } from './pg-forget.js';

/**
 * A forget racing a batch. The batch is played as PgStore.exclusive runs one:
 * a transaction that takes the resolve lock, checks suppressions, then writes.
 * The interleaving is forced (a gate, and pg_locks to see who waits), not timed.
 */
const open: Side[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** Resolves once some backend waits for this schema's resolve lock; rejects if `settled` finishes first. */
async function someoneWaitsForResolveLock(conn: PgConn, settled: Promise<unknown>): Promise<boolean> {
  let done = false;
  void settled.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 2_000; i++) {
    const [row] = await conn.q<{ n: number }>(
      `WITH k AS (SELECT hashtextextended('tributary:resolve:' || current_schema(), 0) AS k)
       SELECT count(*)::int AS n FROM pg_locks l, k WHERE l.locktype = 'advisory' AND NOT l.granted
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid::bigint = ((k.k >> 32) & 4294967295) AND l.objid::bigint = (k.k & 4294967295)`,
    );
    if (row.n > 0) return true;
    if (done) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('nobody waited for the resolve lock and nothing finished');
}

const ADA_ORDER = record('ada-2', [{ type: 'email', value: ADA_EMAIL }], { stream: 'orders', kind: 'track', event: { name: 'order_completed', properties: {} } });

describe('forget under concurrency (postgres)', () => {
  it('a batch that checked suppressions before the forget and commits during it leaves no record of the person', async () => {
    const s = await postgresSide('forget_race');
    open.push(s);
    await seedPeople(s);
    const conn = s.conn!;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let forget: Promise<unknown> | undefined;
    const batch = conn.tx(async () => {
      await lockResolve(conn);
      expect(await s.privacy.suppressedAmong([ADA_EMAIL_KEY])).toEqual(new Set());
      await gate;
      // The batch stores another record of hers, as a sync that read it before the forget would.
      await putRecord(s, ADA_ORDER, 'p_ada');
      await s.insert('identifiers', { key: 'email\u0000ada.second@babbage.co.uk', profile_id: 'p_ada' });
    });
    // Outside the batch's AsyncLocalStorage context: its own transaction on another pooled client.
    forget = Promise.resolve().then(() => s.privacy.forget({ profileIds: ['p_ada'], suppressKeys: [], kind: 'forget', at: AT }));
    const waited = await someoneWaitsForResolveLock(conn, forget);
    release();
    await batch;
    await forget;
    expect(await s.rows('records', "profile_id = 'p_ada'")).toEqual([]);
    expect(await s.rows('identifiers', "profile_id = 'p_ada'")).toEqual([]);
    expect((await s.allText(['forget_deletes'])).toLowerCase()).not.toContain('babbage');
    expect(waited, 'the forget should have waited for the batch').toBe(true);
  });

  it('a batch that starts while the forget runs waits for it and then sees the suppressions', async () => {
    const s = await postgresSide('forget_first');
    open.push(s);
    await seedPeople(s);
    const conn = s.conn!;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let forgotten!: () => void;
    const inside = new Promise<void>((r) => (forgotten = r));
    const forget = conn.tx(async () => {
      await forgetInTransaction(conn, { profileIds: ['p_ada'], suppressKeys: [], kind: 'forget' }, AT);
      forgotten();
      await gate;
    });
    await inside;
    const batch = Promise.resolve().then(() =>
      conn.tx(async () => {
        await lockResolve(conn);
        return s.privacy.suppressedAmong([ADA_EMAIL_KEY]);
      }),
    );
    const waited = await someoneWaitsForResolveLock(conn, batch);
    release();
    await forget;
    expect(await batch).toEqual(new Set([ADA_EMAIL_KEY]));
    expect(waited, 'the batch should have waited for the forget').toBe(true);
  });
});
