import { afterEach, describe, expect, it } from 'vitest';
import { xactLock } from './pg-sql.js';
import { PgConn } from './pg-conn.js';
import { TEST_PG_URL, testConn } from './__fixtures__/pg-test.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f().catch(() => undefined);
});

function open(tag: string) {
  const t = testConn(tag);
  cleanup.push(t.drop);
  return t;
}

describe('xactLock (named transaction locks)', () => {
  it('is per schema: a store in another schema takes the same name at once, one in the same schema waits', async () => {
    const { conn: a, schema } = open('lock-a');
    const { conn: b, schema: other } = open('lock-b');
    const a2 = new PgConn({ url: TEST_PG_URL, schema });
    cleanup.push(() => a2.close());
    // Each connection's schema must exist: current_schema() is NULL otherwise.
    for (const [c, name] of [[a, schema], [b, other]] as const) await c.q(`CREATE SCHEMA IF NOT EXISTS ${name}`);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const taken = new Promise<void>((r) => (holding = r));
    const holder = a.tx(async () => {
      await xactLock(a, 'tributary:match-model:probabilistic');
      holding();
      await held;
    });
    await taken;
    const inOther = await b.tx(async () => {
      await b.q('SET LOCAL lock_timeout = 300');
      await xactLock(b, 'tributary:match-model:probabilistic');
      return 'taken';
    });
    expect(inOther).toBe('taken');
    // The same schema through another connection: the lock is held, so it times out.
    const sameSchema = a2.tx(async () => {
      await a2.q('SET LOCAL lock_timeout = 300');
      await xactLock(a2, 'tributary:match-model:probabilistic');
    });
    await expect(sameSchema).rejects.toThrow(/lock timeout/);
    release();
    await holder;
  });
});
