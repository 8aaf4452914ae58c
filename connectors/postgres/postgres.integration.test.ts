import type pg from 'pg';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { boot } from '../../core/container.js';
import { captureLogger, testContext } from '../../test/kit/context.js';
import { ConfigError, ConnectionError } from '../../core/errors.js';
import type { ConfiguredStream, SourceMessage } from '../../core/plugin/types.js';
import { collect, sourceConnectorKit } from '../../test/kit/source-kit.js';
import { committed, expectExactlyOnce, ids, readUntil } from '../sql-common/__fixtures__/read-helpers.js';
import { keysetTieTests } from '../sql-common/__fixtures__/keyset-suite.js';
import { compositeKeyTieTests } from '../sql-common/__fixtures__/composite-keyset-suite.js';
import { EXPECTED_TYPE_ROWS, IT_DATABASE, adminClient, dropDatabase, recreateDatabase, seedBig, seedCustomers, seedTies, seedTypes, server } from './__fixtures__/seed.js';
import { postgresConfigSchema, type PostgresConfig, type PostgresStreamConfig } from './config.js';
import { APPLICATION_NAME, closeSession, openSession } from './connection.js';
import { postgresSource } from './source.js';

const BIG_ROWS = 100_000;
let admin: pg.Client;
let customersCount = 0;
let tiesCount = 0;

const baseConfig = (over: Partial<PostgresConfig> = {}): PostgresConfig =>
  postgresConfigSchema.parse({ ...server, database: IT_DATABASE, ...over });

type Stream = ConfiguredStream<PostgresStreamConfig>;
const stream = (name: string, config: PostgresStreamConfig, over: Partial<Stream> = {}): Stream => ({
  name,
  mode: 'incremental',
  cursorField: 'updated_at',
  primaryKey: ['id'],
  config,
  ...over,
});

/** Backends of this suite's reader (the connector sets application_name). */
async function readerPids(): Promise<number[]> {
  const res = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND pid <> pg_backend_pid() ORDER BY backend_start DESC',
    [IT_DATABASE, APPLICATION_NAME],
  );
  return res.rows.map((r) => Number(r.pid));
}

/** A backend outlives its client's `end()` by a moment: wait (briefly) until none is left. */
async function noReaderLeft(): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!(await readerPids()).length) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

beforeAll(async () => {
  await recreateDatabase();
  admin = await adminClient();
  customersCount = await seedCustomers(admin);
  tiesCount = await seedTies(admin);
  await seedTypes(admin);
  await seedBig(admin, BIG_ROWS);
  await admin.query(`CREATE SCHEMA "Sales Dept"; CREATE TABLE "Sales Dept"."select" ("from" int PRIMARY KEY, "we""ird" text, updated_at timestamptz NOT NULL);
    INSERT INTO "Sales Dept"."select" VALUES (1, 'x', '2024-01-01 00:00:00+00'), (2, NULL, '2024-01-02 00:00:00+00')`);
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await dropDatabase();
});

sourceConnectorKit<PostgresConfig, PostgresStreamConfig>({
  connector: postgresSource,
  async setup() {
    return baseConfig({ batchSize: 7, checkpointEvery: 5 });
  },
  stream: () => stream('customers', { table: 'customers', schema: 'public' }),
  get expectedInitialCount() {
    return customersCount;
  },
  keyOf: (d) => String(d.id),
  async addNewer() {
    await admin.query("UPDATE customers SET updated_at = '2025-06-01 00:00:00+00', name = 'Zoë updated 🎉' WHERE id IN (3, 27)");
    const res = await admin.query<{ id: number }>("INSERT INTO customers (email, name, \"order\", \"key\", updated_at) VALUES ('new@mail-box.net', '新', 1, 'k', '2025-06-01 00:00:00+00') RETURNING id");
    return ['3', '27', String(res.rows[0].id)];
  },
  farFutureState: () => ({ v: 1, mode: 'incremental', cursorField: 'updated_at', primaryKey: ['id'], nullsAfter: ['2147483647'], after: { cursor: '9999-12-31 23:59:59.999999+00', pk: ['2147483647'] } }),
  badConfigs: [
    // The test server trusts 127.0.0.1 (any password is accepted), so an unknown role stands in for bad credentials.
    { name: 'unknown role', config: { ...server, user: 'no_such_role', password: 'whatever', database: IT_DATABASE }, message: /^cannot connect to postgres at 127\.0\.0\.1:5432 as no_such_role: role "no_such_role" does not exist$/ },
    { name: 'unknown database', config: { ...server, database: 'tributary_it_pg_nope' }, message: /^cannot connect to postgres at .*: database "tributary_it_pg_nope" does not exist$/ },
    { name: 'nothing listening', config: { ...server, port: 1, database: IT_DATABASE, connectTimeoutMs: 2000 }, message: /^cannot connect to postgres at 127\.0\.0\.1:1 as postgres: .*ECONNREFUSED/ },
    { name: 'no host', config: { user: 'postgres', database: IT_DATABASE }, message: /host/ },
    { name: 'binary mode', config: { ...server, database: IT_DATABASE, binary: 'hex' }, message: /binary/ },
  ],
});

describe('postgres source against PostgreSQL', () => {
  it('check names the server and never the password, on one line', async () => {
    const res = await postgresSource.check(testContext(baseConfig({ user: 'nobody_here', password: 'hunter2-secret' })));
    expect(res.ok).toBe(false);
    expect(res.message).toBe('cannot connect to postgres at 127.0.0.1:5432 as nobody_here: role "nobody_here" does not exist');
    expect(res.message).not.toContain('hunter2-secret');
  });

  it('read with bad credentials throws a ConnectionError naming the stream, not to be retried', async () => {
    const err = await collect(postgresSource, baseConfig({ user: 'nobody_here' }), [stream('customers', { table: 'customers' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(false);
    expect((err as ConnectionError).describe()).toBe(
      'sync test, stream customers: cannot connect to postgres at 127.0.0.1:5432 as nobody_here: role "nobody_here" does not exist (not retried: check the source\'s user, password and database)',
    );
  });

  it('check with the configured streams reports the first one that cannot be read', async () => {
    const good = await postgresSource.check(testContext(baseConfig()), [stream('customers', { table: 'customers' }), stream('recent', { query: 'SELECT id, updated_at FROM big' })]);
    expect(good).toEqual({ ok: true });
    const bad = await postgresSource.check(testContext(baseConfig()), [stream('customers', { table: 'customers' }), stream('people', { table: 'no_such_table' })]);
    expect(bad).toEqual({ ok: false, message: 'stream people: table public.no_such_table does not exist (or this user cannot read it)' });
  });

  it('a missing table is a ConfigError naming the stream and the table', async () => {
    const err = await collect(postgresSource, baseConfig(), [stream('people', { table: 'no_such_table' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).describe()).toBe('sync test, stream people: table public.no_such_table does not exist (or this user cannot read it)');
  });

  it('a missing cursor or key column is a ConfigError naming the stream and the column', async () => {
    const noCursor = await collect(postgresSource, baseConfig(), [stream('people', { table: 'customers' }, { cursorField: 'modified' })]).catch((e: unknown) => e);
    expect(noCursor).toBeInstanceOf(ConfigError);
    expect((noCursor as ConfigError).describe()).toBe('sync test, stream people: cursor column "modified" does not exist in table public.customers (columns: id, email, name, order, key, updated_at)');
    const noKey = await collect(postgresSource, baseConfig(), [stream('people', { table: 'customers' }, { primaryKey: ['customer_id'] })]).catch((e: unknown) => e);
    expect(noKey).toBeInstanceOf(ConfigError);
    expect((noKey as ConfigError).describe()).toMatch(/^sync test, stream people: primary key column "customer_id" does not exist/);
  });

  it('a column named __proto__ is refused rather than silently lost', async () => {
    await admin.query('CREATE TABLE protos (id INT PRIMARY KEY, "__proto__" INT)');
    const err = await collect(postgresSource, baseConfig(), [stream('protos', { table: 'protos' }, { mode: 'full_refresh' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/has a column named __proto__/);
  });

  it('a table name carrying SQL is looked up, not executed', async () => {
    const err = await collect(postgresSource, baseConfig(), [stream('evil', { table: 'customers"; DROP TABLE big; --' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const res = await admin.query<{ n: string }>('SELECT count(*) AS n FROM big');
    expect(Number(res.rows[0].n)).toBe(BIG_ROWS);
  });

  it('quotes reserved, spaced and quote-bearing identifiers', async () => {
    const { records } = await collect(postgresSource, baseConfig(), [stream('select', { table: 'select', schema: 'Sales Dept' }, { primaryKey: ['from'] })]);
    expect(records.map((r) => r.data)).toEqual([
      { from: 1, 'we"ird': 'x', updated_at: '2024-01-01T00:00:00Z' },
      { from: 2, 'we"ird': null, updated_at: '2024-01-02T00:00:00Z' },
    ]);
    expect(records[0].origin).toBe('table Sales Dept.select');
  });

  it('the session is read-only: the server refuses writes', async () => {
    const session = await openSession(baseConfig());
    try {
      await expect(session.client.query("INSERT INTO customers (email) VALUES ('x@example.com')")).rejects.toMatchObject({ code: '25006' });
    } finally {
      await closeSession(session);
    }
  });
});

describe('postgres keyset reads', () => {
  const ties = (mode: 'incremental' | 'full_refresh') => stream('ties', { table: 'ties' }, { mode, cursorField: mode === 'incremental' ? 'ts' : undefined });

  keysetTieTests({ source: postgresSource, config: (paging) => baseConfig(paging), stream: ties, count: () => tiesCount });
  compositeKeyTieTests({ source: postgresSource, config: (paging) => baseConfig(paging), stream: (table) => stream(table, { table }), exec: (sql) => admin.query(sql), timestampType: 'TIMESTAMP' });

  it(`a read of ${BIG_ROWS} rows left after 3 checkpoints resumes with exactly the remaining rows`, async () => {
    const config = baseConfig({ batchSize: 5000, checkpointEvery: 10_000 });
    const big = stream('big', { table: 'big' });
    const first = await readUntil(postgresSource, config, [big], {}, (_m, states) => states === 3);
    const done = committed(first);
    expect(done.records.length).toBe(30_000);
    const rest = await collect(postgresSource, config, [big], { big: done.state });
    expect(rest.records.length).toBe(BIG_ROWS - 30_000);
    expectExactlyOnce([...ids(done.records), ...ids(rest.records)], BIG_ROWS);
    expect(await noReaderLeft()).toBe(true);
  });

  it('an aborted read ends with a state for the last record it yielded, and resumes from it', async () => {
    const config = baseConfig({ batchSize: 3000, checkpointEvery: 10_000 });
    const big = stream('big', { table: 'big' });
    const ac = new AbortController();
    const messages: SourceMessage[] = [];
    for await (const m of postgresSource.read({ ...testContext(config), signal: ac.signal }, [big], {})) {
      messages.push(m);
      if (messages.length === 25_000) ac.abort();
    }
    expect(messages.at(-1)?.type).toBe('state');
    const done = committed(messages);
    expect(done.records.length).toBeGreaterThanOrEqual(25_000);
    expect(done.records.length).toBeLessThan(BIG_ROWS);
    const rest = await collect(postgresSource, config, [big], { big: done.state });
    expectExactlyOnce([...ids(done.records), ...ids(rest.records)], BIG_ROWS);
  });

  it('a backend terminated mid-stream throws a ConnectionError; the last state resumes with exactly the missing rows', async () => {
    const config = baseConfig({ batchSize: 2000, checkpointEvery: 5000 });
    const big = stream('big', { table: 'big' });
    const messages: SourceMessage[] = [];
    let killed = 0;
    let error: unknown;
    try {
      for await (const m of postgresSource.read(testContext(config), [big], {})) {
        messages.push(m);
        if (m.type === 'state' && !killed) {
          // The newest backend is this read's (one from an earlier test may still be exiting).
          const pids = await readerPids();
          expect(pids.length).toBeGreaterThan(0);
          killed = pids[0];
          await admin.query('SELECT pg_terminate_backend($1)', [killed]);
        }
      }
    } catch (err) {
      error = err;
    }
    expect(killed).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).context.stream).toBe('big');
    expect((error as ConnectionError).message).toMatch(/^lost the connection to postgres at 127\.0\.0\.1:5432 as postgres while reading: /);
    // Rows already on the wire when the server acts may still arrive (and be checkpointed) first.
    const done = committed(messages);
    expect(done.records.length).toBeGreaterThanOrEqual(5000);
    expect(done.records.length).toBeLessThan(BIG_ROWS);
    const rest = await collect(postgresSource, config, [big], { big: done.state });
    expect(rest.records.length).toBe(BIG_ROWS - done.records.length);
    expectExactlyOnce([...ids(done.records), ...ids(rest.records)], BIG_ROWS);
  });

  it('a query stream reads by its cursor and key like a table', async () => {
    const config = baseConfig({ batchSize: 999, checkpointEvery: 1500 });
    const q = stream('recent', { query: 'SELECT id, email, updated_at FROM big WHERE id <= 20000;' });
    const first = await readUntil(postgresSource, config, [q], {}, (_m, states) => states === 4);
    const done = committed(first);
    expect(done.records.length).toBe(6000);
    const rest = await collect(postgresSource, config, [q], { recent: done.state });
    expectExactlyOnce([...ids(done.records), ...ids(rest.records)], 20_000);
    expect(rest.records[0].origin).toBe('query recent');
    expect(Object.keys(rest.records[0].data)).toEqual(['id', 'email', 'updated_at']);
  });

  it('a query the server refuses is a ConfigError naming the stream', async () => {
    const err = await collect(postgresSource, baseConfig(), [stream('broken', { query: 'SELECT nope FROM customers' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).describe()).toBe('sync test, stream broken: postgres at 127.0.0.1:5432 refused the stream\'s query: column "nope" does not exist');
  });

  it('two streams in one read share the session, each ending with its own state', async () => {
    const { records, states } = await collect(postgresSource, baseConfig(), [ties('incremental'), stream('customers', { table: 'customers' }, { mode: 'full_refresh' })]);
    expect(records.filter((r) => r.stream === 'ties').length).toBe(tiesCount);
    expect(records.filter((r) => r.stream === 'customers').length).toBeGreaterThan(0);
    expect([...states.keys()].sort()).toEqual(['customers', 'ties']);
  });
});

describe('postgres type mapping', () => {
  const types = (over: Partial<PostgresConfig> = {}) =>
    collect(postgresSource, baseConfig(over), [stream('types', { table: 'types' }, { mode: 'full_refresh', cursorField: undefined })]);

  it('maps every type without loss (bytea skipped by default)', async () => {
    const { records } = await types();
    expect(records.map((r) => r.data)).toEqual([...EXPECTED_TYPE_ROWS, Object.fromEntries(Object.keys(records[0].data).map((k) => [k, k === 'id' ? 3 : null]))]);
  });

  it('includes bytea as base64 when asked', async () => {
    const { records } = await types({ binary: 'base64' });
    expect(records.map((r) => r.data.by)).toEqual(['AP8Q', '', null]);
  });

  it('reads timestamp without time zone in the configured zone, timestamptz as the instant it is', async () => {
    const { records } = await types({ timezone: 'Europe/Berlin' });
    expect(records.map((r) => [r.data.ts, r.data.tstz])).toEqual([
      ['2024-07-01T10:00:00.5Z', '2024-07-01T10:00:00.123456Z'],
      ['-infinity', 'infinity'],
      [null, null],
    ]);
  });

  it('a small int8 is a number; int8 past 2^53 stays an exact string', async () => {
    const { records } = await collect(postgresSource, baseConfig(), [
      stream('q', { query: "SELECT 1 AS id, 9007199254740991::int8 AS max_safe, 9007199254740992::int8 AS past, '1e-30'::numeric AS tiny" }, { mode: 'full_refresh' }),
    ]);
    expect(records[0].data).toEqual({ id: 1, max_safe: 9007199254740991, past: '9007199254740992', tiny: '0.000000000000000000000000000001' });
  });

  it('discover describes columns, keys and cursor candidates from the catalog', async () => {
    const streams = await postgresSource.discover(testContext(baseConfig()));
    const t = streams.find((s) => s.name === 'types')!;
    expect(t.primaryKey).toEqual(['id']);
    expect(t.fields.num).toEqual({ type: ['string', 'null'], format: 'decimal', sourceType: 'numeric(30,10)' });
    expect(t.fields.i8.type).toEqual(['integer', 'string', 'null']);
    expect(t.fields.tstz).toMatchObject({ format: 'date-time', sourceType: 'timestamp with time zone' });
    expect(t.fields.jb.type).toContain('object');
    expect(t.fields.arr_i.type).toEqual(['array', 'null']);
    expect(t.fields.bit1.type).toEqual(['boolean', 'null']);
    expect(t.fields.dom.type).toEqual(['integer', 'null']);
    expect(t.fields.by).toBeUndefined();
    expect(t.cursorCandidates).toEqual(['tstz', 'ts']);
    const c = streams.find((s) => s.name === 'customers')!;
    expect(c.cursorCandidates).toEqual(['id', 'updated_at']);
    expect(Object.keys(c.fields)).toEqual(['id', 'email', 'name', 'order', 'key', 'updated_at']);
    expect(streams.map((s) => s.name)).toContain('Sales Dept.select');
  });

  it('unicode, emoji and NULLs come back as stored', async () => {
    const { records } = await collect(postgresSource, baseConfig(), [stream('customers', { table: 'customers' }, { mode: 'full_refresh' })]);
    const res = await admin.query('SELECT id, name, email, "order", "key" FROM customers ORDER BY id');
    expect(records.map((r) => ({ id: r.data.id, name: r.data.name, email: r.data.email, order: r.data.order, key: r.data.key }))).toEqual(res.rows);
    expect(records.some((r) => r.data.name === '👩‍👩‍👧‍👦 family')).toBe(true);
  });
});

describe('postgres source in the engine', () => {
  it('a sync from YAML reads the table into profiles, checkpoints, and the next run reads only what changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-postgres-'));
    const file = join(dir, 'tributary.yaml');
    writeFileSync(
      file,
      stringify({
        store: { sqlite: join(dir, 'store.db') },
        sources: [
          {
            name: 'shop',
            connector: 'postgres',
            config: { ...server, database: IT_DATABASE, batchSize: 7, checkpointEvery: 5 },
            streams: [{ name: 'people', primaryKey: 'id', cursor: 'updated_at', config: { table: 'customers' }, mapping: { identifiers: { email: 'email' }, traits: { firstName: 'name' } } }],
          },
        ],
        // Rows without an email are counted as dead letters below (the default keeps them as profiles, issue 11).
        resolution: { unidentified: 'dead-letter' },
      }),
    );
    const booted = await boot({ configFile: file, logger: captureLogger() });
    try {
      const rows = await countCustomers();
      const first = await booted.engine.runSync('shop');
      expect(first.ok).toBe(true);
      expect(first.summary!.streams.people.read).toBe(rows.total);
      // Rows without an email have no identifier: the engine dead-letters them.
      expect(first.summary!.streams.people.deadLettered).toBe(rows.total - rows.withEmail);
      expect(await booted.store.loadState('shop')).toMatchObject({ people: { v: 1, mode: 'incremental', cursorField: 'updated_at' } });
      const second = await booted.engine.runSync('shop');
      expect(second.summary!.streams.people.read).toBe(0);
    } finally {
      await booted.close();
    }
  });
});

async function countCustomers(): Promise<{ total: number; withEmail: number }> {
  const res = await admin.query<{ total: string; with_email: string }>('SELECT count(*) AS total, count(email) AS with_email FROM customers');
  return { total: Number(res.rows[0].total), withEmail: Number(res.rows[0].with_email) };
}
