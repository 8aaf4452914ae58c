import type mysql from 'mysql2/promise';
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
import { EXPECTED_TYPE_ROWS, IT_DATABASE, adminConnection, seedBig, seedCustomers, seedTies, seedTypes, server } from './__fixtures__/seed.js';
import { mysqlConfigSchema, type MysqlConfig, type MysqlStreamConfig } from './config.js';
import { openSession, closeSession } from './connection.js';
import { mysqlSource } from './source.js';

const BIG_ROWS = 100_000;
let admin: mysql.Connection;
let customersCount = 0;
let tiesCount = 0;

const baseConfig = (over: Partial<MysqlConfig> = {}): MysqlConfig =>
  mysqlConfigSchema.parse({ ...server, database: IT_DATABASE, ...over });

const stream = (name: string, config: MysqlStreamConfig, over: Partial<ConfiguredStream<MysqlStreamConfig>> = {}): ConfiguredStream<MysqlStreamConfig> => ({
  name,
  mode: 'incremental',
  cursorField: 'updated_at',
  primaryKey: ['id'],
  config,
  ...over,
});

beforeAll(async () => {
  admin = await adminConnection();
  await admin.query(`DROP DATABASE IF EXISTS ${IT_DATABASE}`);
  await admin.query(`CREATE DATABASE ${IT_DATABASE} CHARACTER SET utf8mb4`);
  await admin.query(`USE ${IT_DATABASE}`);
  customersCount = await seedCustomers(admin);
  tiesCount = await seedTies(admin);
  await seedTypes(admin);
  await seedBig(admin, BIG_ROWS);
  await admin.query('CREATE TABLE `select` (`from` INT PRIMARY KEY, `we``ird` VARCHAR(10), updated_at DATETIME NOT NULL)');
  await admin.query("INSERT INTO `select` VALUES (1, 'x', '2024-01-01 00:00:00'), (2, NULL, '2024-01-02 00:00:00')");
}, 120_000);

afterAll(async () => {
  await admin?.query(`DROP DATABASE IF EXISTS ${IT_DATABASE}`);
  await admin?.end();
});

sourceConnectorKit<MysqlConfig, MysqlStreamConfig>({
  connector: mysqlSource,
  async setup() {
    return baseConfig({ batchSize: 7, checkpointEvery: 5 });
  },
  stream: () => stream('customers', { table: 'customers' }),
  get expectedInitialCount() {
    return customersCount;
  },
  keyOf: (d) => String(d.id),
  async addNewer() {
    await admin.query("UPDATE customers SET updated_at = '2025-06-01 00:00:00', name = 'Zoë updated 🎉' WHERE id IN (3, 27)");
    const [res] = await admin.query<mysql.ResultSetHeader>("INSERT INTO customers (email, name, `order`, `key`, updated_at) VALUES ('new@mail-box.net', '新', 1, 'k', '2025-06-01 00:00:00')");
    return ['3', '27', String(res.insertId)];
  },
  farFutureState: () => ({ v: 1, mode: 'incremental', cursorField: 'updated_at', primaryKey: ['id'], nullsAfter: [2_147_483_647], after: { cursor: '9999-12-31 23:59:59.999999', pk: [2_147_483_647] } }),
  badConfigs: [
    { name: 'wrong password', config: { ...server, password: 'not-the-password', database: IT_DATABASE }, message: /^cannot connect to mysql at 127\.0\.0\.1:3306 as root: Access denied/ },
    { name: 'unknown database', config: { ...server, database: 'tributary_it_mysql_nope' }, message: /cannot connect to mysql at .*Unknown database 'tributary_it_mysql_nope'/ },
    { name: 'nothing listening', config: { ...server, port: 1, database: IT_DATABASE, connectTimeoutMs: 2000 }, message: /^cannot connect to mysql at 127\.0\.0\.1:1 as root: .*ECONNREFUSED/ },
    { name: 'no host', config: { user: 'root', database: IT_DATABASE }, message: /host/ },
    { name: 'binary mode', config: { ...server, database: IT_DATABASE, binary: 'hex' }, message: /binary/ },
  ],
});

describe('mysql source against MariaDB', () => {
  it('check names the server and never the password, on one line', async () => {
    const res = await mysqlSource.check(testContext(baseConfig({ password: 'hunter2-secret' })));
    expect(res.ok).toBe(false);
    expect(res.message).toMatch(/^cannot connect to mysql at 127\.0\.0\.1:3306 as root: /);
    expect(res.message).not.toContain('hunter2-secret');
    expect(res.message).not.toContain('\n');
  });

  it('read with a wrong password throws a ConnectionError naming the stream', async () => {
    const err = await collect(mysqlSource, baseConfig({ password: 'nope-nope' }), [stream('customers', { table: 'customers' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).context.stream).toBe('customers');
    expect((err as ConnectionError).describe()).toMatch(/^sync test, stream customers: cannot connect to mysql at 127\.0\.0\.1:3306 as root: Access denied/);
  });

  it('check with the configured streams reports the first one that cannot be read', async () => {
    const good = await mysqlSource.check(testContext(baseConfig()), [stream('customers', { table: 'customers' }), stream('recent', { query: 'SELECT id, updated_at FROM big' })]);
    expect(good).toEqual({ ok: true });
    const bad = await mysqlSource.check(testContext(baseConfig()), [stream('customers', { table: 'customers' }), stream('people', { table: 'no_such_table' })]);
    expect(bad).toEqual({ ok: false, message: `stream people: table ${IT_DATABASE}.no_such_table does not exist (or this user cannot see it)` });
  });

  it('a missing table is a ConfigError naming the stream and the table', async () => {
    const err = await collect(mysqlSource, baseConfig(), [stream('people', { table: 'no_such_table' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).describe()).toBe(`sync test, stream people: table ${IT_DATABASE}.no_such_table does not exist (or this user cannot see it)`);
  });

  it('a missing cursor or key column is a ConfigError naming the stream and the column', async () => {
    const noCursor = await collect(mysqlSource, baseConfig(), [stream('people', { table: 'customers' }, { cursorField: 'modified' })]).catch((e: unknown) => e);
    expect(noCursor).toBeInstanceOf(ConfigError);
    expect((noCursor as ConfigError).describe()).toMatch(`sync test, stream people: cursor column "modified" does not exist in table ${IT_DATABASE}.customers (columns: id, email, name, order, key, updated_at)`);
    const noKey = await collect(mysqlSource, baseConfig(), [stream('people', { table: 'customers' }, { primaryKey: ['customer_id'] })]).catch((e: unknown) => e);
    expect(noKey).toBeInstanceOf(ConfigError);
    expect((noKey as ConfigError).describe()).toMatch(/^sync test, stream people: primary key column "customer_id" does not exist/);
  });

  it('a column named __proto__ is refused rather than silently lost', async () => {
    await admin.query('CREATE TABLE protos (id INT PRIMARY KEY, `__proto__` INT)');
    const err = await collect(mysqlSource, baseConfig(), [stream('protos', { table: 'protos' }, { mode: 'full_refresh' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/has a column named __proto__/);
  });

  it('a table name carrying SQL is looked up, not executed', async () => {
    const err = await collect(mysqlSource, baseConfig(), [stream('evil', { table: 'customers`; DROP TABLE big; --' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM big');
    expect(Number(rows[0].n)).toBe(BIG_ROWS);
  });

  it('quotes reserved and backtick-bearing identifiers', async () => {
    const { records } = await collect(mysqlSource, baseConfig(), [stream('select', { table: 'select' }, { primaryKey: ['from'] })]);
    expect(records.map((r) => r.data)).toEqual([
      { from: 1, 'we`ird': 'x', updated_at: '2024-01-01T00:00:00Z' },
      { from: 2, 'we`ird': null, updated_at: '2024-01-02T00:00:00Z' },
    ]);
    expect(records[0].origin).toBe(`table ${IT_DATABASE}.select`);
  });

  it('the session is read-only: the server refuses writes', async () => {
    const session = await openSession(baseConfig());
    try {
      await expect(session.conn.query("INSERT INTO customers (email) VALUES ('x@example.com')")).rejects.toMatchObject({ code: 'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION' });
    } finally {
      await closeSession(session);
    }
  });
});

describe('mysql keyset paging', () => {
  const ties = (mode: 'incremental' | 'full_refresh') => stream('ties', { table: 'ties' }, { mode, cursorField: mode === 'incremental' ? 'ts' : undefined });

  keysetTieTests({ source: mysqlSource, config: (paging) => baseConfig(paging), stream: ties, count: () => tiesCount });
  compositeKeyTieTests({ source: mysqlSource, config: (paging) => baseConfig(paging), stream: (table) => stream(table, { table }), exec: (sql) => admin.query(sql), timestampType: 'DATETIME' });

  it(`a read of ${BIG_ROWS} rows left after 3 checkpoints resumes with exactly the remaining rows`, async () => {
    const config = baseConfig({ batchSize: 5000, checkpointEvery: 10_000 });
    const big = stream('big', { table: 'big' });
    const first = await readUntil(mysqlSource, config, [big], {}, (_m, states) => states === 3);
    const done = committed(first);
    expect(done.records.length).toBe(30_000);
    const rest = await collect(mysqlSource, config, [big], { big: done.state });
    expect(rest.records.length).toBe(BIG_ROWS - 30_000);
    expectExactlyOnce([...ids(done.records), ...ids(rest.records)], BIG_ROWS);
  });

  it('an aborted read ends with a state for the last record it yielded, and resumes from it', async () => {
    const config = baseConfig({ batchSize: 3000, checkpointEvery: 10_000 });
    const big = stream('big', { table: 'big' });
    const ac = new AbortController();
    const messages: SourceMessage[] = [];
    for await (const m of mysqlSource.read({ ...testContext(config), signal: ac.signal }, [big], {})) {
      messages.push(m);
      if (messages.length === 25_000) ac.abort();
    }
    expect(messages.at(-1)?.type).toBe('state');
    const done = committed(messages);
    expect(done.records.length).toBeGreaterThanOrEqual(25_000);
    expect(done.records.length).toBeLessThan(BIG_ROWS);
    const rest = await collect(mysqlSource, config, [big], { big: done.state });
    expectExactlyOnce([...ids(done.records), ...ids(rest.records)], BIG_ROWS);
  });

  it('a connection killed by the server mid-stream throws a ConnectionError; the last state resumes with exactly the missing rows', async () => {
    const config = baseConfig({ batchSize: 2000, checkpointEvery: 5000 });
    const big = stream('big', { table: 'big' });
    const messages: SourceMessage[] = [];
    let killed = 0;
    let error: unknown;
    try {
      for await (const m of mysqlSource.read(testContext(config), [big], {})) {
        messages.push(m);
        if (m.type === 'state' && !killed) {
          // The newest connection is this read's (one from an earlier test may still be closing).
          const [procs] = await admin.query<mysql.RowDataPacket[]>(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() AND COMMAND <> 'Killed' ORDER BY ID DESC",
            [IT_DATABASE],
          );
          expect(procs.length).toBeGreaterThan(0);
          killed = Number(procs[0].ID);
          await admin.query(`KILL ${killed}`);
        }
      }
    } catch (err) {
      error = err;
    }
    expect(killed).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).context.stream).toBe('big');
    expect((error as ConnectionError).message).toMatch(/^lost the connection to mysql at 127\.0\.0\.1:3306 as root while reading: /);
    // Rows already on the wire when the server acts may still arrive (and be checkpointed) first.
    const done = committed(messages);
    expect(done.records.length).toBeGreaterThanOrEqual(5000);
    expect(done.records.length).toBeLessThan(BIG_ROWS);
    const rest = await collect(mysqlSource, config, [big], { big: done.state });
    expect(rest.records.length).toBe(BIG_ROWS - done.records.length);
    expectExactlyOnce([...ids(done.records), ...ids(rest.records)], BIG_ROWS);
  });

  it('a query stream pages by its cursor and key like a table', async () => {
    const config = baseConfig({ batchSize: 999, checkpointEvery: 1500 });
    const q = stream('recent', { query: 'SELECT id, email, updated_at FROM big WHERE id <= 20000;' });
    const first = await readUntil(mysqlSource, config, [q], {}, (_m, states) => states === 4);
    const done = committed(first);
    expect(done.records.length).toBe(6000);
    const rest = await collect(mysqlSource, config, [q], { recent: done.state });
    expectExactlyOnce([...ids(done.records), ...ids(rest.records)], 20_000);
    expect(rest.records[0].origin).toBe('query recent');
    expect(Object.keys(rest.records[0].data)).toEqual(['id', 'email', 'updated_at']);
  });

  it("a query the server refuses is a ConfigError naming the stream", async () => {
    const err = await collect(mysqlSource, baseConfig(), [stream('broken', { query: 'SELECT nope FROM customers' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).describe()).toMatch(/^sync test, stream broken: mysql at 127\.0\.0\.1:3306 refused the stream's query: Unknown column 'nope'/);
  });
});

describe('mysql type mapping', () => {
  const types = (over: Partial<MysqlConfig> = {}) =>
    collect(mysqlSource, baseConfig(over), [stream('types', { table: 'types' }, { mode: 'full_refresh', cursorField: undefined })]);

  it('maps every type without loss (binary skipped by default)', async () => {
    const { records } = await types();
    expect(records.map((r) => r.data)).toEqual(EXPECTED_TYPE_ROWS);
  });

  it('includes binary columns as base64 when asked', async () => {
    const { records } = await types({ binary: 'base64' });
    expect(records.map((r) => [r.data.bin, r.data.blb])).toEqual([
      ['AP8Q', '3q2+7w=='],
      ['', ''],
      [null, null],
    ]);
  });

  it('reads DATETIME in the configured zone, TIMESTAMP as the instant it is', async () => {
    const { records } = await types({ timezone: 'Europe/Berlin' });
    expect(records.map((r) => [r.data.dt, r.data.ts])).toEqual([
      ['2024-07-01T10:00:00.123456Z', '2024-01-01T00:00:00.250Z'],
      ['1969-12-31T22:59:59.000001Z', '2038-01-19T03:14:07.999Z'],
      [null, null],
    ]);
    const fixed = await types({ timezone: '-05:30' });
    expect(fixed.records[0].data.dt).toBe('2024-07-01T17:30:00.123456Z');
  });

  it('a TIMESTAMP written from another session time zone reads as the same instant', async () => {
    await admin.query("SET SESSION time_zone = '+05:00'");
    try {
      await admin.query("INSERT INTO types (id, ts) VALUES (4, '2024-01-01 05:00:00.5')");
    } finally {
      await admin.query("SET SESSION time_zone = '+00:00'");
    }
    const { records } = await types();
    expect(records.find((r) => r.data.id === 4)?.data.ts).toBe('2024-01-01T00:00:00.500Z');
    await admin.query('DELETE FROM types WHERE id = 4');
  });

  it('discover describes columns, keys and cursor candidates from information_schema', async () => {
    const streams = await mysqlSource.discover(testContext(baseConfig()));
    const t = streams.find((s) => s.name === 'types')!;
    expect(t.primaryKey).toEqual(['id']);
    expect(t.fields.dec_col).toEqual({ type: ['string', 'null'], format: 'decimal', sourceType: 'decimal(30,10)' });
    expect(t.fields.big_col.type).toEqual(['integer', 'string', 'null']);
    expect(t.fields.dt).toMatchObject({ type: ['string', 'null'], format: 'date-time' });
    expect(t.fields.j.type).toContain('object');
    expect(t.fields.flag.type).toEqual(['boolean', 'null']);
    expect(t.fields.bin).toBeUndefined();
    expect(t.cursorCandidates).toEqual(['dt', 'dt_zero', 'ts']);
    const c = streams.find((s) => s.name === 'customers')!;
    expect(c.cursorCandidates).toEqual(['id', 'updated_at']);
    expect(Object.keys(c.fields)).toEqual(['id', 'email', 'name', 'order', 'key', 'updated_at']);
    expect(c.supportedModes).toEqual(['full_refresh', 'incremental']);
    const withBinary = await mysqlSource.discover(testContext(baseConfig({ binary: 'base64' })));
    expect(withBinary.find((s) => s.name === 'types')!.fields.bin).toMatchObject({ format: 'base64' });
  });

  it('unicode, emoji and NULLs come back byte for byte', async () => {
    const { records } = await collect(mysqlSource, baseConfig(), [stream('customers', { table: 'customers' }, { mode: 'full_refresh' })]);
    const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT id, name, email, `order`, `key` FROM customers ORDER BY id');
    expect(records.map((r) => ({ id: r.data.id, name: r.data.name, email: r.data.email, order: r.data.order, key: r.data.key }))).toEqual(
      rows.map((r) => ({ ...r })),
    );
    expect(records.some((r) => r.data.name === '👩‍👩‍👧‍👦 family')).toBe(true);
  });
});

describe('mysql source in the engine', () => {
  it('a sync from YAML reads the table into profiles, checkpoints, and the next run reads only what changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-mysql-'));
    const file = join(dir, 'tributary.yaml');
    writeFileSync(
      file,
      stringify({
        store: { sqlite: join(dir, 'store.db') },
        sources: [
          {
            name: 'shop',
            connector: 'mysql',
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
  const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS total, COUNT(email) AS withEmail FROM customers');
  return { total: Number(rows[0].total), withEmail: Number(rows[0].withEmail) };
}
