import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../errors.js';
import { PgConn } from './pg-conn.js';
import { CORE_PG_SCHEMA_SQL, PG_SCHEMA_VERSION, migratePg } from './pg-schema.js';
import { TEST_PG_URL, dropSchema, uniqueSchema } from './__fixtures__/pg-test.js';

const open: PgConn[] = [];
const schemas: string[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(schemas.splice(0).map(dropSchema));
});

function conn(schema: string, url = TEST_PG_URL): PgConn {
  const c = new PgConn({ url, schema, connectTimeoutMs: 3000 });
  open.push(c);
  return c;
}

describe('PostgreSQL store schema', () => {
  it('creates every table once when several workers start at the same moment', async () => {
    const schema = uniqueSchema('mig');
    schemas.push(schema);
    // Without the advisory lock, concurrent CREATE TABLE IF NOT EXISTS fails with a unique violation on pg_type.
    const workers = Array.from({ length: 6 }, () => conn(schema));
    await Promise.all(workers.map((c) => migratePg(c, [CORE_PG_SCHEMA_SQL])));
    const v = await workers[0].q<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'");
    expect(v).toEqual([{ value: String(PG_SCHEMA_VERSION) }]);
    const tables = await workers[0].q<{ n: string }>('SELECT count(*)::text AS n FROM information_schema.tables WHERE table_schema = $1', [schema]);
    expect(Number(tables[0].n)).toBe(12);
  });

  it('refuses a store written by a newer version, naming both versions, without retrying', async () => {
    const schema = uniqueSchema('newer');
    schemas.push(schema);
    const c = conn(schema);
    await migratePg(c, [CORE_PG_SCHEMA_SQL]);
    await c.q("UPDATE meta SET value = $1 WHERE key = 'schema_version'", [String(PG_SCHEMA_VERSION + 1)]);
    const err = await migratePg(c, [CORE_PG_SCHEMA_SQL]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(false);
    expect((err as Error).message).toContain(`schema ${PG_SCHEMA_VERSION + 1}; this one knows up to ${PG_SCHEMA_VERSION}`);
  });

  it('rolls a failed transaction back whole', async () => {
    const schema = uniqueSchema('tx');
    schemas.push(schema);
    const c = conn(schema);
    await migratePg(c, [CORE_PG_SCHEMA_SQL]);
    await expect(
      c.tx(async () => {
        await c.q("INSERT INTO meta(key, value) VALUES ('a', '1')");
        await c.q('SELECT * FROM no_such_table');
      }),
    ).rejects.toThrow(/no_such_table/);
    expect(await c.q("SELECT value FROM meta WHERE key = 'a'")).toEqual([]);
  });

  it('tells an unreachable server (retry) from a missing database (no retry), without the password', async () => {
    const down = conn(uniqueSchema('down'), 'postgres://postgres:s3cret@127.0.0.1:1/test');
    const e1 = (await down.q('SELECT 1').catch((e: unknown) => e)) as ConnectionError;
    expect(e1).toBeInstanceOf(ConnectionError);
    expect(e1.retryable).toBe(true);
    expect(e1.message).toMatch(/^PostgreSQL store postgres:\/\/postgres@127\.0\.0\.1:1\/test is unreachable: .*ECONNREFUSED/);
    expect(e1.message).not.toContain('s3cret');
    const missing = conn(uniqueSchema('nodb'), TEST_PG_URL.replace(/\/[^/]*$/, '/no_such_db_tributary'));
    const e2 = (await missing.q('SELECT 1').catch((e: unknown) => e)) as ConnectionError;
    expect(e2).toBeInstanceOf(ConnectionError);
    expect(e2.retryable).toBe(false);
    expect(e2.message).toContain('no_such_db_tributary');
  });
});
