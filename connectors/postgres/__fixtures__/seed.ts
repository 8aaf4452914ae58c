import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * This test run's own database: the process id and a random suffix, so two
 * checkouts (or two runs) testing against one server never drop each other's
 * tables. Created in beforeAll (recreateDatabase), dropped in afterAll (dropDatabase).
 */
export const IT_DATABASE = `tributary_it_pg_${process.pid}_${randomBytes(3).toString('hex')}`;

export const server = {
  host: process.env.PGHOST_TEST ?? '127.0.0.1',
  port: Number(process.env.PGPORT_TEST ?? 5432),
  user: process.env.PGUSER_TEST ?? 'postgres',
  password: process.env.PGPASSWORD_TEST ?? '',
};

/** Run statements on the `test` database, which always exists (a database cannot drop itself). */
async function onMaintenanceDatabase(sql: string[]): Promise<void> {
  const c = new pg.Client({ ...server, database: process.env.PGDATABASE_TEST ?? 'test' });
  await c.connect();
  try {
    for (const q of sql) await c.query(q);
  } finally {
    await c.end();
  }
}

/** Create this run's database (dropping a leftover of the same name first). */
export async function recreateDatabase(): Promise<void> {
  await onMaintenanceDatabase([`DROP DATABASE IF EXISTS ${IT_DATABASE} WITH (FORCE)`, `CREATE DATABASE ${IT_DATABASE} ENCODING 'UTF8' TEMPLATE template0`]);
}

/** Drop this run's database at the end of the suite. */
export async function dropDatabase(): Promise<void> {
  await onMaintenanceDatabase([`DROP DATABASE IF EXISTS ${IT_DATABASE} WITH (FORCE)`]);
}

/** An admin connection to the test database (writes allowed), in UTC. */
export async function adminClient(): Promise<pg.Client> {
  const c = new pg.Client({ ...server, database: IT_DATABASE });
  await c.connect();
  await c.query("SET TimeZone = 'UTC'");
  return c;
}

/** Names that break naive code: emoji, combining marks, right-to-left text, quotes, backslashes. */
export const NASTY_NAMES = [
  'Zoë Ångström',
  '李小龍',
  'Renée 🎉🚀',
  'O\'Brien "Bob"',
  'back\\slash',
  'עִבְרִית',
  '👩‍👩‍👧‍👦 family',
  '',
  'Robert\'); DROP TABLE customers;--',
];

/** The kit's table: reserved-word columns "order" and "key", NULLs in every nullable column, the cursor included. */
export async function seedCustomers(c: pg.Client): Promise<number> {
  await c.query(`CREATE TABLE customers (
    id serial PRIMARY KEY,
    email text NULL,
    name text NULL,
    "order" int NULL,
    "key" varchar(50) NULL,
    updated_at timestamptz NULL
  )`);
  await c.query('CREATE INDEX customers_updated_at ON customers (updated_at, id)');
  const n = 60;
  for (let i = 1; i <= n; i++) {
    await c.query('INSERT INTO customers (email, name, "order", "key", updated_at) VALUES ($1, $2, $3, $4, $5)', [
      i % 11 === 0 ? null : `user${i}@mail-box.net`,
      i % 7 === 0 ? null : NASTY_NAMES[i % NASTY_NAMES.length],
      i % 5 === 0 ? null : i * 10,
      i % 4 === 0 ? null : `k-${i}`,
      // Every 9th row has no cursor value; the rest share a value in groups of 4.
      i % 9 === 0 ? null : `2024-01-0${1 + Math.floor(i / 12)} 10:00:0${Math.floor(i / 4) % 10}.123456+00`,
    ]);
  }
  return n;
}

/** Rows sharing cursor values in runs that straddle every page and checkpoint boundary of a small batch. */
export async function seedTies(c: pg.Client): Promise<number> {
  await c.query('CREATE TABLE ties (id int PRIMARY KEY, ts timestamp NULL)');
  await c.query('CREATE INDEX ties_ts ON ties (ts, id)');
  const runs = [7, 1, 14, 6, 8, 3, 21, 2];
  let id = 1000;
  let count = 0;
  for (const [r, len] of runs.entries()) {
    for (let k = 0; k < len; k++) {
      id += 3;
      await c.query('INSERT INTO ties VALUES ($1, $2)', [(id * 7919) % 100_003, `2024-05-0${1 + (r % 9)} 00:00:00`]);
      count++;
    }
  }
  await c.query('INSERT INTO ties SELECT 200000 + g, NULL FROM generate_series(0, 8) g');
  return count + 9;
}

/** `count` rows, 100 per cursor value (in reverse id order), for resume and kill tests. */
export async function seedBig(c: pg.Client, count: number): Promise<void> {
  await c.query('CREATE TABLE big (id int8 PRIMARY KEY, email text NOT NULL, amount numeric(12,2) NOT NULL, updated_at timestamptz NOT NULL)');
  await c.query(
    `INSERT INTO big SELECT g, 'big' || g || '@example.com', (g || '.' || lpad((g % 100)::text, 2, '0'))::numeric,
       timestamptz '2024-01-01 00:00:00+00' + (($1::int - g) / 100) * interval '1 second'
     FROM generate_series(1, $1::int) g`,
    [count],
  );
  await c.query('CREATE INDEX big_updated_at ON big (updated_at, id)');
  await c.query('ANALYZE big');
}

/** One row of every type the mapping cares about, one of edge values, one of NULLs. */
export async function seedTypes(c: pg.Client): Promise<void> {
  await c.query(`CREATE TYPE mood AS ENUM ('sad', 'happy');
    CREATE DOMAIN positive_int AS int4 CHECK (VALUE > 0);
    CREATE TABLE types (
      id int PRIMARY KEY,
      num numeric(30,10), num_free numeric, i8 int8, i2 int2, f8 float8, f4 float4, b bool,
      tstz timestamptz, ts timestamp, d date, t time, ttz timetz, iv interval,
      j json, jb jsonb, by bytea, bit1 bit(1), bits bit(10), vb varbit,
      arr_i int[], arr_t text[], arr_ts timestamptz[], arr_num numeric[], arr_2d int[][], arr_jb jsonb[],
      u uuid, txt text, e mood, dom positive_int
    )`);
  await c.query(`INSERT INTO types VALUES
    (1, '12345678901234567890.0123456789', '3.14159265358979323846264338327950288', 9007199254740993, -32768, 0.1, 1.1, true,
     '2024-07-01 12:00:00.123456+02', '2024-07-01 12:00:00.5', '2024-02-29', '23:59:59.999999', '10:00:00+02', '1 year 2 months 3 days 04:05:06',
     '{"a": [1, 2], "emoji": "🎉"}', '{"b": {"c": null}, "n": 1.5}', '\\x00ff10', B'1', B'1010101010', B'101',
     '{1,NULL,3}', ARRAY['a,b', 'c"d', NULL, 'NULL', '', 'back\\slash', '{brace}'], '{"2024-01-01 00:00:00+00"}', '{1.10,2}', '{{1,2},{3,4}}', ARRAY['{"a": 1}'::jsonb],
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'Zoë 🎉', 'happy', 5),
    (2, '-0.0000000001', 'NaN', -9223372036854775808, 0, 'NaN', '-Infinity', false,
     'infinity', '-infinity', 'infinity', '00:00:00', '00:00:00+00', '-1 days',
     '[]', 'null', '\\x', B'0', B'0000000000', B'',
     '{}', '{}', '{}', '{}', '{}', '{}',
     '00000000-0000-0000-0000-000000000000', '', 'sad', 1),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
}

/** What the rows of `seedTypes` must read as (binary columns left out, the default). */
export const EXPECTED_TYPE_ROWS: Array<Record<string, unknown>> = [
  {
    id: 1,
    num: '12345678901234567890.0123456789',
    num_free: '3.14159265358979323846264338327950288',
    i8: '9007199254740993',
    i2: -32768,
    f8: 0.1,
    f4: 1.1,
    b: true,
    tstz: '2024-07-01T10:00:00.123456Z',
    ts: '2024-07-01T12:00:00.5Z',
    d: '2024-02-29',
    t: '23:59:59.999999',
    ttz: '10:00:00+02',
    iv: 'P1Y2M3DT4H5M6S',
    j: { a: [1, 2], emoji: '🎉' },
    jb: { b: { c: null }, n: 1.5 },
    bit1: true,
    bits: '1010101010',
    vb: '101',
    arr_i: [1, null, 3],
    arr_t: ['a,b', 'c"d', null, 'NULL', '', 'back\\slash', '{brace}'],
    arr_ts: ['2024-01-01T00:00:00Z'],
    arr_num: ['1.10', '2'],
    arr_2d: [[1, 2], [3, 4]],
    arr_jb: [{ a: 1 }],
    u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    txt: 'Zoë 🎉',
    e: 'happy',
    dom: 5,
  },
  {
    id: 2,
    num: '-0.0000000001',
    num_free: 'NaN',
    i8: '-9223372036854775808',
    i2: 0,
    f8: 'NaN',
    f4: '-Infinity',
    b: false,
    tstz: 'infinity',
    ts: '-infinity',
    d: 'infinity',
    t: '00:00:00',
    ttz: '00:00:00+00',
    iv: 'P-1D',
    j: [],
    jb: null,
    bit1: false,
    bits: '0000000000',
    vb: '',
    arr_i: [],
    arr_t: [],
    arr_ts: [],
    arr_num: [],
    arr_2d: [],
    arr_jb: [],
    u: '00000000-0000-0000-0000-000000000000',
    txt: '',
    e: 'sad',
    dom: 1,
  },
];
