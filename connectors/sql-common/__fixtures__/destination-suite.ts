/**
 * The behaviour both SQL destinations (mysql, postgres) must have, run against
 * their real servers: each engine supplies admin access to its own throw-away
 * database; every test writes to its own table.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ConnectionError } from '../../../core/errors.js';
import type { DestinationConnector, DestinationItem, ProfileDocument, WriteResult } from '../../../core/plugin/types.js';
import { destinationConnectorKit, sampleProfiles } from '../../../test/kit/destination-kit.js';
import { captureLogger, testContext } from '../../../test/kit/context.js';
import type { SqlDestinationConfig } from '../destination-config.js';

/** Column types the tests ask for, spelled by each engine. */
export type TestType = 'key' | 'text' | 'varchar8' | 'int' | 'json' | 'timestamp';

export interface SqlDestinationSuiteOptions<C extends SqlDestinationConfig> {
  engine: string;
  connector: DestinationConnector<C>;
  /** Create the suite's database; returns the config every test starts from. */
  setup(): Promise<C>;
  teardown(): Promise<void>;
  /** Every row of a table, JSON columns parsed, timestamps as ISO strings or null, keyed by the key column. */
  rows(table: string, keyColumn?: string): Promise<Map<string, Record<string, unknown>>>;
  createTable(table: string, columns: Record<string, TestType>): Promise<void>;
  tableExists(table: string): Promise<boolean>;
  /** Hold a lock that makes writers to `table` wait until released. */
  lockTable(table: string): Promise<{ release(): Promise<void> }>;
  /** Wait until a writer waits on the lock, then kill its connection (as a failover or a DBA would). */
  killWaitingWriter(table: string): Promise<void>;
  /** Config whose credentials the server refuses, and what the error must say. */
  wrongCredentials: { config: Partial<C>; message: RegExp; secret: string };
  /** What the server says about a too-long value. */
  tooLong: RegExp;
}

const upsert = (p: ProfileDocument, payload?: Record<string, unknown>): DestinationItem => ({ key: p.id, op: 'upsert', profile: p, ...(payload ? { payload } : {}) });
const remove = (id: string, reason: 'merged' | 'deleted' = 'merged'): DestinationItem => ({ key: id, op: 'delete', previous: { ref: id }, reason });
const statuses = (r: WriteResult[]) => r.map((x) => x.status);

export function sqlDestinationSuite<C extends SqlDestinationConfig>(o: SqlDestinationSuiteOptions<C>): void {
  let base: C | undefined;
  let n = 0;
  const table = (what: string) => `${what}_${++n}_${randomBytes(2).toString('hex')}`;
  const config = (over: Partial<C>): C => o.connector.spec.config.parse({ ...base!, ...over });
  const write = (c: C, items: DestinationItem[]) => o.connector.write(testContext(c), items);
  const kitTable = `kit_${process.pid}`;

  // The database outlives the kit's own describe block: set up once for the whole file.
  beforeAll(async () => {
    base = await o.setup();
    await o.createTable(kitTable, { id: 'key', email: 'text', phone: 'text', updated_at: 'timestamp', profile: 'json', score: 'int' });
  });
  afterAll(() => o.teardown());

  destinationConnectorKit<C>({
    connector: o.connector,
    setup: async () => ({ ...base!, table: kitTable }),
    readBack: async () => o.rows(kitTable),
    async failRetryable() {
      const lock = await o.lockTable(kitTable);
      onTestFinished(() => lock.release());
    },
    // The kit table's `score` is an integer column: the server refuses text there.
    permanentItem: upsert(sampleProfiles(1, 'bad')[0], { score: 'not a number' }),
    badConfigs: [
      { name: 'no table', config: { host: '127.0.0.1', user: 'u', database: 'd' }, message: /table/ },
      { name: 'unknown option', config: { host: '127.0.0.1', user: 'u', database: 'd', table: 't', mirorr: true }, message: /mirorr/ },
      { name: 'mirror with deletedAtColumn', config: { host: '127.0.0.1', user: 'u', database: 'd', table: 't', mirror: true, deletedAtColumn: 'gone_at' }, message: /deletedAtColumn: .*without mirror/ },
      { name: 'json column is the key', config: { host: '127.0.0.1', user: 'u', database: 'd', table: 't', jsonColumn: 'id' }, message: /must be different columns/ },
      {
        name: 'missing table, not allowed to create',
        // Read when the test runs, once setup has created the database.
        get config() {
          return { ...base, table: 'no_such_table' };
        },
        message: /table .*no_such_table.* does not exist; create it or set createTable: true/,
      },
    ],
  });

  describe(`${o.engine} destination`, () => {
    it('creates a missing table when allowed, with the key, the standard columns and the profile as JSON', async () => {
      const t = table('created');
      const c = config({ table: t, createTable: true } as Partial<C>);
      expect(await o.connector.check(testContext(c))).toEqual({ ok: true });
      expect(await o.tableExists(t)).toBe(false);
      const [p] = sampleProfiles(1);
      expect(statuses(await write(c, [upsert({ ...p, identifiers: [...p.identifiers, { type: 'phone', value: '+33612345678' }] })]))).toEqual(['ok']);
      const row = (await o.rows(t)).get('p0')!;
      expect(row).toMatchObject({ id: 'p0', email: 'user0@example.com', phone: '+33612345678', updated_at: '2026-01-02T00:00:00.000Z' });
      expect(row.profile).toEqual({ ...p, identifiers: [...p.identifiers, { type: 'phone', value: '+33612345678' }] });
      expect(await o.connector.check(testContext(config({ table: t } as Partial<C>)))).toEqual({ ok: true });
    });

    it('writes mapped columns, the key and the whole document in the JSON column; without it when disabled', async () => {
      const t = table('mapped');
      await o.createTable(t, { id: 'key', city: 'text', score: 'int', profile: 'json' });
      const [a, b] = sampleProfiles(2);
      const c = config({ table: t } as Partial<C>);
      expect(statuses(await write(c, [upsert(a, { city: 'Lyon', score: 7 }), upsert(b, { city: null, score: 8 })]))).toEqual(['ok', 'ok']);
      const rows = await o.rows(t);
      expect(rows.get('p0')).toEqual({ id: 'p0', city: 'Lyon', score: 7, profile: a });
      expect(rows.get('p1')).toEqual({ id: 'p1', city: null, score: 8, profile: b });

      const bare = table('bare');
      await o.createTable(bare, { id: 'key', city: 'text' });
      expect(statuses(await write(config({ table: bare, jsonColumn: false } as Partial<C>), [upsert(a, { city: 'Oslo' })]))).toEqual(['ok']);
      expect([...(await o.rows(bare)).values()]).toEqual([{ id: 'p0', city: 'Oslo' }]);
    });

    it('an existing table without a mapped column fails the write with a non-retryable error naming the column', async () => {
      const t = table('nocol');
      await o.createTable(t, { id: 'key', profile: 'json' });
      const [p] = sampleProfiles(1);
      const err = await write(config({ table: t, createTable: true } as Partial<C>), [upsert(p, { loyalty_tier: 'gold' })]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as ConnectionError).retryable).toBe(false);
      expect((err as Error).message).toMatch(new RegExp(`table .*${t}.* has no column "loyalty_tier"`));
      expect((await o.rows(t)).size).toBe(0);
    });

    it('a key column that is neither primary key nor unique is refused by check and write (rows would duplicate)', async () => {
      const t = table('nokey');
      await o.createTable(t, { id: 'text', profile: 'json' });
      const c = config({ table: t } as Partial<C>);
      const res = await o.connector.check(testContext(c));
      expect(res.ok).toBe(false);
      expect(res.message).toMatch(/column "id" of table .* is neither the primary key nor unique/);
      const err = await write(c, sampleProfiles(1).map((p) => upsert(p))).catch((e: unknown) => e);
      expect((err as ConnectionError).retryable).toBe(false);
      expect((await o.rows(t)).size).toBe(0);
    });

    it('upserts update rows in place: one row per profile, the latest values, duplicates in a batch settle together', async () => {
      const t = table('inplace');
      const c = config({ table: t, createTable: true } as Partial<C>);
      const [p] = sampleProfiles(1);
      await write(c, [upsert(p, { city: 'Lyon' })]);
      const moved = { ...p, traits: { ...p.traits, city: 'Nice' } };
      const res = await write(c, [upsert(p, { city: 'Paris' }), upsert(moved, { city: 'Nice' })]);
      expect(statuses(res)).toEqual(['ok', 'ok']);
      const rows = await o.rows(t);
      expect(rows.size).toBe(1);
      expect(rows.get('p0')).toMatchObject({ city: 'Nice', profile: moved });
    });

    it('mirror deletes exactly the rows of the delete items, nothing else', async () => {
      const t = table('mirror');
      await o.createTable(t, { id: 'key', email: 'text', phone: 'text', updated_at: 'timestamp', profile: 'json' });
      const c = config({ table: t, mirror: true } as Partial<C>);
      const ps = sampleProfiles(4);
      await write(c, ps.map((p) => upsert(p)));
      const res = await write(c, [remove('p1', 'merged'), remove('p3', 'deleted'), remove('never-written', 'deleted')]);
      expect(statuses(res)).toEqual(['ok', 'ok', 'ok']);
      expect([...(await o.rows(t)).keys()].sort()).toEqual(['p0', 'p2']);
    });

    it('without mirror a delete is acknowledged and the row kept; with deletedAtColumn it is stamped, and cleared on return', async () => {
      const t = table('keep');
      await o.createTable(t, { id: 'key', email: 'text', phone: 'text', updated_at: 'timestamp', profile: 'json', gone_at: 'timestamp' });
      const [a, b] = sampleProfiles(2);
      const keep = config({ table: t } as Partial<C>);
      await write(keep, [upsert(a), upsert(b)]);
      expect(statuses(await write(keep, [remove('p0')]))).toEqual(['ok']);
      expect([...(await o.rows(t)).keys()].sort()).toEqual(['p0', 'p1']);
      expect((await o.rows(t)).get('p0')!.gone_at).toBeNull();

      const stamp = config({ table: t, deletedAtColumn: 'gone_at' } as Partial<C>);
      expect(statuses(await write(stamp, [remove('p0')]))).toEqual(['ok']);
      let rows = await o.rows(t);
      expect(rows.size).toBe(2);
      expect(typeof rows.get('p0')!.gone_at).toBe('string');
      expect(rows.get('p1')!.gone_at).toBeNull();
      await write(stamp, [upsert(a)]);
      rows = await o.rows(t);
      expect(rows.get('p0')!.gone_at).toBeNull();
    });

    it('a batch with one bad row: the others are written, the bad one is permanent with the server reason', async () => {
      const t = table('badrow');
      await o.createTable(t, { id: 'key', code: 'varchar8', profile: 'json' });
      const c = config({ table: t, mirror: true } as Partial<C>);
      const ps = sampleProfiles(4);
      await write(c, [upsert(ps[3], { code: 'OLD' })]);
      const logger = captureLogger();
      const ctx = { ...testContext(c), logger };
      const res = await o.connector.write(ctx, [upsert(ps[0], { code: 'A1' }), upsert(ps[1], { code: 'much too long for eight' }), upsert(ps[2], { code: 'C3' }), remove('p3')]);
      expect(statuses(res)).toEqual(['ok', 'permanent', 'ok', 'ok']);
      expect((res[1] as { reason: string }).reason).toMatch(o.tooLong);
      // Counted in the log; the refused value (profile data) stays out of it.
      expect(logger.entries.map((e) => e.message)).toEqual([expect.stringMatching(/1 of 4 rows refused$/)]);
      expect(JSON.stringify(logger.entries)).not.toContain('much too long');
      const rows = await o.rows(t);
      expect([...rows.keys()].sort()).toEqual(['p0', 'p2']);
      expect(rows.get('p2')!.code).toBe('C3');
    });

    it('a connection killed during the write makes the batch retryable, and nothing of it is committed', async () => {
      const t = table('killed');
      await o.createTable(t, { id: 'key', email: 'text', phone: 'text', updated_at: 'timestamp', profile: 'json' });
      // Only the kill can end the wait: the lock timeout is far away.
      const c = config({ table: t, lockTimeoutMs: 120_000 } as Partial<C>);
      const lock = await o.lockTable(t);
      try {
        const pending = write(c, sampleProfiles(3).map((p) => upsert(p)));
        await o.killWaitingWriter(t);
        const res = await pending;
        expect(statuses(res)).toEqual(['retryable', 'retryable', 'retryable']);
      } finally {
        await lock.release();
      }
      expect((await o.rows(t)).size).toBe(0);
    });

    it('wrong credentials throw a non-retryable ConnectionError on one line, without the password', async () => {
      const c = config({ table: 'whatever', ...o.wrongCredentials.config } as Partial<C>);
      const err = await write(c, sampleProfiles(1).map((p) => upsert(p))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as ConnectionError).retryable).toBe(false);
      expect((err as Error).message).toMatch(o.wrongCredentials.message);
      expect((err as Error).message).not.toContain(o.wrongCredentials.secret);
      expect((err as Error).message).not.toContain('\n');
      const check = await o.connector.check(testContext(c));
      expect(check.ok).toBe(false);
      expect(check.message).not.toContain(o.wrongCredentials.secret);
    });

    it('quotes table and column names: an injection attempt becomes a strangely named table', async () => {
      const victim = table('victim');
      await o.createTable(victim, { id: 'key' });
      const evil = `x"; DROP TABLE ${victim}; -- \`;`;
      const c = config({ table: evil, createTable: true, keyColumn: 'k`"ey', jsonColumn: 'doc"`' } as Partial<C>);
      expect(statuses(await write(c, sampleProfiles(2).map((p) => upsert(p))))).toEqual(['ok', 'ok']);
      expect(await o.tableExists(victim)).toBe(true);
      expect(await o.tableExists(evil)).toBe(true);
      expect([...(await o.rows(evil, 'k`"ey')).keys()].sort()).toEqual(['p0', 'p1']);
      expect(o.connector.mapping?.names?.test('city; DROP TABLE x')).toBe(false);
      expect(o.connector.mapping?.names?.test('loyalty_tier')).toBe(true);
    });
  });
}
