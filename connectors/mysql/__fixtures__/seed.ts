import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

/**
 * This test run's own database: the process id and a random suffix, so two
 * checkouts (or two runs) testing against one server never drop each other's
 * tables. Created in beforeAll, dropped in afterAll.
 */
export const IT_DATABASE = `tributary_it_mysql_${process.pid}_${randomBytes(3).toString('hex')}`;

export const server = {
  host: process.env.MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.MYSQL_PORT ?? 3306),
  user: process.env.MYSQL_USER ?? 'root',
  password: process.env.MYSQL_PASSWORD ?? '',
};

/** An admin connection (writes allowed), UTC, lenient sql_mode so zero dates can be seeded. */
export async function adminConnection(database?: string): Promise<mysql.Connection> {
  const conn = await mysql.createConnection({ ...server, database, charset: 'UTF8MB4_UNICODE_CI', multipleStatements: true });
  await conn.query("SET SESSION time_zone = '+00:00', SESSION sql_mode = ''");
  return conn;
}

/** Insert rows with multi-row INSERTs of `chunk` rows (fast enough for 100k rows in seconds). */
export async function insertRows(conn: mysql.Connection, table: string, columns: string[], rows: unknown[][], chunk = 5000): Promise<void> {
  const cols = columns.map((c) => mysql.escapeId(c)).join(', ');
  for (let i = 0; i < rows.length; i += chunk) {
    await conn.query(`INSERT INTO ${mysql.escapeId(table)} (${cols}) VALUES ?`, [rows.slice(i, i + chunk)]);
  }
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

/**
 * The kit's table: reserved-word columns `order` and `key`, NULLs in every
 * nullable column, including the cursor.
 */
export async function seedCustomers(conn: mysql.Connection): Promise<number> {
  await conn.query(`CREATE TABLE customers (
    id INT AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(200) NULL,
    name VARCHAR(200) NULL,
    \`order\` INT NULL,
    \`key\` VARCHAR(50) NULL,
    updated_at DATETIME(6) NULL,
    KEY updated_at_idx (updated_at)
  ) CHARACTER SET utf8mb4`);
  const rows: unknown[][] = [];
  for (let i = 1; i <= 60; i++) {
    rows.push([
      i % 11 === 0 ? null : `user${i}@mail-box.net`,
      i % 7 === 0 ? null : NASTY_NAMES[i % NASTY_NAMES.length],
      i % 5 === 0 ? null : i * 10,
      i % 4 === 0 ? null : `k-${i}`,
      // Every 9th row has no cursor value; the rest share a value in groups of 4.
      i % 9 === 0 ? null : `2024-01-0${1 + Math.floor(i / 12)} 10:00:0${Math.floor(i / 4) % 10}.123456`,
    ]);
  }
  await insertRows(conn, 'customers', ['email', 'name', 'order', 'key', 'updated_at'], rows);
  return rows.length;
}

/** Rows sharing cursor values in runs that straddle every page and checkpoint boundary of a small batch. */
export async function seedTies(conn: mysql.Connection): Promise<number> {
  await conn.query(`CREATE TABLE ties (
    id INT PRIMARY KEY,
    ts DATETIME NULL,
    KEY ts_idx (ts)
  )`);
  const runs = [7, 1, 14, 6, 8, 3, 21, 2];
  const rows: unknown[][] = [];
  let id = 1000;
  runs.forEach((len, r) => {
    for (let k = 0; k < len; k++) {
      // Interleave ids so that key order differs from insertion order.
      id += 3;
      rows.push([(id * 7919) % 100_003, `2024-05-0${1 + (r % 9)} 00:00:00`]);
    }
  });
  for (let k = 0; k < 9; k++) rows.push([200_000 + k, null]);
  await insertRows(conn, 'ties', ['id', 'ts'], rows);
  return rows.length;
}

/** 100k+ rows, 100 per cursor value, for resume and kill tests. */
export async function seedBig(conn: mysql.Connection, count: number): Promise<void> {
  await conn.query(`CREATE TABLE big (
    id BIGINT PRIMARY KEY,
    email VARCHAR(100) NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    updated_at DATETIME NOT NULL,
    KEY updated_at_idx (updated_at)
  )`);
  const base = Date.UTC(2024, 0, 1) / 1000;
  const rows: unknown[][] = [];
  for (let i = 1; i <= count; i++) {
    const t = new Date((base + Math.floor((count - i) / 100)) * 1000).toISOString().slice(0, 19).replace('T', ' ');
    rows.push([i, `big${i}@example.com`, `${i}.${String(i % 100).padStart(2, '0')}`, t]);
  }
  await insertRows(conn, 'big', ['id', 'email', 'amount', 'updated_at'], rows);
}

/** One row of every type the mapping cares about, and one row of NULLs. */
export async function seedTypes(conn: mysql.Connection): Promise<void> {
  await conn.query(`CREATE TABLE types (
    id INT PRIMARY KEY,
    dec_col DECIMAL(30,10) NULL,
    big_col BIGINT NULL,
    ubig_col BIGINT UNSIGNED NULL,
    small_big BIGINT NULL,
    dt DATETIME(6) NULL,
    dt_zero DATETIME NULL,
    d DATE NULL,
    d_zero DATE NULL,
    ts TIMESTAMP(3) NULL DEFAULT NULL,
    t TIME NULL,
    y YEAR NULL,
    j JSON NULL,
    flag BIT(1) NULL,
    bits BIT(10) NULL,
    bin VARBINARY(16) NULL,
    blb BLOB NULL,
    f DOUBLE NULL,
    tiny TINYINT(1) NULL,
    e ENUM('a','b') NULL,
    txt TEXT NULL
  ) CHARACTER SET utf8mb4`);
  await conn.query(
    `INSERT INTO types VALUES
     (1, '12345678901234567890.0123456789', 9007199254740993, 18446744073709551615, -42,
      '2024-07-01 12:00:00.123456', '0000-00-00 00:00:00', '2024-02-29', '0000-00-00',
      '2024-01-01 00:00:00.250', '-838:59:59', 2024, '{"a":[1,2,{"b":null}],"emoji":"🎉","n":1.5}',
      b'1', b'1010101010', X'00FF10', X'DEADBEEF', 0.1, 1, 'b', 'Zoë 🎉'),
     (2, '-0.0000000001', -9223372036854775808, 0, 9007199254740991,
      '1969-12-31 23:59:59.000001', '2024-00-00 00:00:00', '0999-01-01', '2024-00-10',
      '2038-01-19 03:14:07.999', '00:00:00', 1901, '[]',
      b'0', b'0000000000', X'', X'', -1.5e300, 0, 'a', ''),
     (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
  );
}

/** What the rows of `seedTypes` must read as (binary columns left out, the default). */
export const EXPECTED_TYPE_ROWS: Array<Record<string, unknown>> = [
  {
    id: 1,
    dec_col: '12345678901234567890.0123456789',
    big_col: '9007199254740993',
    ubig_col: '18446744073709551615',
    small_big: -42,
    dt: '2024-07-01T12:00:00.123456Z',
    dt_zero: null,
    d: '2024-02-29',
    d_zero: null,
    ts: '2024-01-01T00:00:00.250Z',
    t: '-838:59:59',
    y: 2024,
    j: { a: [1, 2, { b: null }], emoji: '🎉', n: 1.5 },
    flag: true,
    bits: 0b1010101010,
    f: 0.1,
    tiny: 1,
    e: 'b',
    txt: 'Zoë 🎉',
  },
  {
    id: 2,
    dec_col: '-0.0000000001',
    big_col: '-9223372036854775808',
    ubig_col: 0,
    small_big: 9007199254740991,
    dt: '1969-12-31T23:59:59.000001Z',
    dt_zero: null,
    d: '0999-01-01',
    d_zero: null,
    ts: '2038-01-19T03:14:07.999Z',
    t: '00:00:00',
    y: 1901,
    j: [],
    flag: false,
    bits: 0,
    f: -1.5e300,
    tiny: 0,
    e: 'a',
    txt: '',
  },
  {
    id: 3, dec_col: null, big_col: null, ubig_col: null, small_big: null, dt: null, dt_zero: null, d: null, d_zero: null, ts: null,
    t: null, y: null, j: null, flag: null, bits: null, f: null, tiny: null, e: null, txt: null,
  },
];
