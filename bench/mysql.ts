import { spawn, spawnSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import type { ConnectorContext, Logger, SourceConnector, StreamState } from '../core/plugin/types.js';
import { mysqlConfigSchema } from '../connectors/mysql/config.js';
import { mysqlSource } from '../connectors/mysql/source.js';
import { arg, fmt, peakRssMb, timed } from './measure.js';

/**
 * `npm run bench -- mysql [--rows N] [--batch N]`: the mysql source reading a
 * customers table against the `mysql` command-line client, then an incremental
 * run over 1% updated rows. Connection from MYSQL_HOST/PORT/USER/PASSWORD.
 */

const DATABASE = 'tributary_bench_mysql';
/** The benchmark table's columns, as both benchmarks create it. */
const COLUMNS = ['id', 'email', 'first_name', 'last_name', 'phone', 'city', 'country', 'lifetime_value', 'created_at', 'updated_at'];

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A context for a benchmark run: silent logger, no metrics. */
export function benchContext<C>(config: C): ConnectorContext<C> {
  return { name: 'bench', config, logger: quiet, metrics: { count: () => undefined }, signal: new AbortController().signal };
}

export interface ReadFigures {
  records: number;
  seconds: number;
  state: StreamState | undefined;
  ids: Set<string>;
  /** RSS at each checkpoint, MB: flat memory shows as a narrow band. */
  rssAtCheckpoints: number[];
}

/**
 * Read one stream to the end as the engine would (records counted, the last
 * state kept), sampling memory at each checkpoint. `collectIds` keeps the
 * primary keys (for the incremental check; off for the timed full read).
 */
export async function measureRead<C, S>(connector: SourceConnector<C, S>, config: C, stream: Parameters<SourceConnector<C, S>['read']>[1][number], state: StreamState | undefined, collectIds: boolean): Promise<ReadFigures> {
  const ids = new Set<string>();
  const rssAtCheckpoints: number[] = [];
  let records = 0;
  let last: StreamState | undefined;
  const { seconds } = await timed(async () => {
    for await (const m of connector.read(benchContext(config), [stream], { [stream.name]: state })) {
      if (m.type === 'record') {
        records++;
        if (collectIds) ids.add(String(m.data.id));
      } else if (m.type === 'state') {
        last = m.state;
        rssAtCheckpoints.push(process.memoryUsage().rss / 1_048_576);
      }
    }
  });
  return { records, seconds, state: last, ids, rssAtCheckpoints };
}

/** Run a shell command, its output to /dev/null (or counted), and time it. */
export async function timeCommand(command: string, env: NodeJS.ProcessEnv): Promise<{ seconds: number; bytes: number }> {
  let bytes = 0;
  const { seconds } = await timed(
    () =>
      new Promise<void>((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', command], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout.on('data', (b: Buffer) => (bytes += b.length));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
      }),
  );
  return { seconds, bytes };
}

export function printRead(label: string, f: ReadFigures, bytes: number): void {
  const sorted = [...f.rssAtCheckpoints].sort((a, b) => a - b);
  const band = sorted.length ? `${fmt(sorted[Math.floor(sorted.length * 0.1)])}-${fmt(sorted[sorted.length - 1])} MB` : 'n/a';
  process.stdout.write(
    `${label}: ${fmt(f.records)} records in ${fmt(f.seconds, 2)} s = ${fmt(f.records / f.seconds)} rows/s, ${fmt(bytes / 1_048_576 / f.seconds, 1)} MB/s` +
      ` | RSS at checkpoints (p10-max) ${band}, peak RSS ${fmt(peakRssMb())} MB, heap ${fmt(process.memoryUsage().heapUsed / 1_048_576)} MB\n`,
  );
}

function clientBinary(): string {
  for (const b of ['mysql', 'mariadb']) if (spawnSync('/bin/sh', ['-c', `command -v ${b}`]).status === 0) return b;
  throw new Error('neither the mysql nor the mariadb command-line client is installed');
}

/** Seed `rows` customers server-side (a cross join of digits), unless exactly that many are there already. */
async function seed(admin: mysql.Connection, rows: number): Promise<void> {
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${DATABASE} CHARACTER SET utf8mb4`);
  await admin.query(`USE ${DATABASE}`);
  const [existing] = await admin.query<mysql.RowDataPacket[]>(
    "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'customers'",
    [DATABASE],
  );
  if (existing.length) {
    const [count] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM customers');
    if (Number(count[0].n) === rows) {
      process.stdout.write(`seed: ${DATABASE}.customers already holds ${fmt(rows)} rows, kept\n`);
      return;
    }
  }
  const t = await timed(async () => {
    await admin.query('DROP TABLE IF EXISTS customers, digits');
    await admin.query(`CREATE TABLE customers (
      id BIGINT PRIMARY KEY, email VARCHAR(120) NOT NULL, first_name VARCHAR(60), last_name VARCHAR(60), phone VARCHAR(30),
      city VARCHAR(60), country CHAR(2), lifetime_value DECIMAL(12,2), created_at DATETIME(6) NOT NULL, updated_at DATETIME(6) NOT NULL,
      KEY updated_at_idx (updated_at)
    ) CHARACTER SET utf8mb4`);
    await admin.query('CREATE TABLE digits (d INT PRIMARY KEY)');
    await admin.query('INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)');
    const places = Math.max(1, Math.ceil(Math.log10(rows)));
    const from = Array.from({ length: places }, (_, i) => `digits d${i}`).join(' CROSS JOIN ');
    const n = Array.from({ length: places }, (_, i) => `d${i}.d * ${10 ** i}`).join(' + ');
    const chunk = 10 ** Math.min(places, 5);
    for (let start = 0; start < rows; start += chunk) {
      await admin.query(
        `INSERT INTO customers
         SELECT n + 1, CONCAT('customer', n + 1, '@example.com'),
           ELT(1 + n % 10, 'Ann', 'Bob', 'Chloé', 'David', 'Emma', 'Farid', 'Greta', 'Hugo', 'Inès', 'Jon'),
           ELT(1 + n % 8, 'Martin', 'Smith', 'Dubois', 'Müller', 'Rossi', 'García', 'Nguyen', 'Kowalski'),
           CONCAT('+1415', LPAD(n % 9999999, 7, '0')), ELT(1 + n % 5, 'Paris', 'Berlin', 'São Paulo', '東京', 'Zürich'),
           ELT(1 + n % 5, 'FR', 'DE', 'BR', 'JP', 'CH'), (n % 100000) / 100,
           TIMESTAMP('2023-01-01') + INTERVAL n SECOND, TIMESTAMP('2024-01-01') + INTERVAL (n DIV 10) SECOND
         FROM (SELECT ${n} AS n FROM ${from}) seq WHERE n >= ? AND n < ?`,
        [start, Math.min(start + chunk, rows)],
      );
    }
    await admin.query('DROP TABLE digits');
    await admin.query('ANALYZE TABLE customers');
  });
  process.stdout.write(`seed: ${fmt(rows)} rows into ${DATABASE}.customers in ${fmt(t.seconds, 1)} s\n`);
}

/**
 * The shared core of the SQL benchmarks: time the command-line client writing
 * the table (`client(sql, toNull)`: the command printing `sql`'s rows, to
 * /dev/null when `toNull`), then the connector's full read and full refresh,
 * and print both against the client. Returns the full read (its state seeds the
 * incremental run).
 */
export async function readsAgainstClient<C, S>(o: {
  connector: SourceConnector<C, S>;
  config: C;
  stream: Parameters<SourceConnector<C, S>['read']>[1][number];
  rows: number;
  fullLabel: string;
  client: (sql: string, toNull: boolean) => string;
  env: NodeJS.ProcessEnv;
}): Promise<ReadFigures> {
  const { connector, config, stream, rows, client, env } = o;
  const ordered = `SELECT ${COLUMNS.join(', ')} FROM customers ORDER BY updated_at, id`;
  const size = await timeCommand(client(ordered, false), env);
  const floorCommand = client(ordered, true);
  const floor = await timeCommand(floorCommand, env);
  const floorPlain = await timeCommand(client(`SELECT ${COLUMNS.join(', ')} FROM customers`, true), env);
  const floorById = await timeCommand(client(`SELECT ${COLUMNS.join(', ')} FROM customers ORDER BY id`, true), env);

  const full = await measureRead(connector, config, stream, undefined, false);
  printRead(o.fullLabel, full, size.bytes);
  process.stdout.write(
    `client floor: ${floorCommand}\n` +
      `  ordered like the connector: ${fmt(floor.seconds, 2)} s = ${fmt(rows / floor.seconds)} rows/s, ${fmt(size.bytes / 1_048_576 / floor.seconds, 1)} MB/s (${fmt(size.bytes / 1_048_576, 1)} MB of text)\n` +
      `  ORDER BY id: ${fmt(floorById.seconds, 2)} s = ${fmt(rows / floorById.seconds)} rows/s\n` +
      `  unordered SELECT: ${fmt(floorPlain.seconds, 2)} s = ${fmt(rows / floorPlain.seconds)} rows/s\n` +
      `ratio connector/client (ordered): ${fmt(full.seconds / floor.seconds, 2)}x\n`,
  );
  if (full.records !== rows) process.stdout.write(`MISMATCH: read ${full.records} records, table holds ${rows}\n`);
  // Full refresh reads in primary-key order, which is what an unordered SELECT walks too.
  const refresh = await measureRead(connector, config, { ...stream, mode: 'full_refresh', cursorField: undefined }, undefined, false);
  printRead('connector full refresh (primary-key order)', refresh, size.bytes);
  process.stdout.write(
    `ratio connector full refresh/client ORDER BY id: ${fmt(refresh.seconds / floorById.seconds, 2)}x (unordered: ${fmt(refresh.seconds / floorPlain.seconds, 2)}x)\n`,
  );
  return full;
}

/** The incremental run's verdict: did it read exactly the rows that were updated? */
export function printIncremental(inc: ReadFigures, expected: Set<string>): void {
  const exact = inc.ids.size === expected.size && inc.records === expected.size && [...expected].every((id) => inc.ids.has(id));
  process.stdout.write(
    `incremental after updating ${fmt(expected.size)} rows (1%): read ${fmt(inc.records)} records in ${fmt(inc.seconds, 2)} s -> ${exact ? 'exactly the updated rows' : 'MISMATCH'}\n`,
  );
}

export async function run(args: string[]): Promise<void> {
  const rows = arg(args, 'rows', 1_000_000);
  const batchSize = arg(args, 'batch', 10_000);
  const server = {
    host: process.env.MYSQL_HOST ?? '127.0.0.1',
    port: Number(process.env.MYSQL_PORT ?? 3306),
    user: process.env.MYSQL_USER ?? 'root',
    password: process.env.MYSQL_PASSWORD ?? '',
  };
  const admin = await mysql.createConnection({ ...server, charset: 'UTF8MB4_UNICODE_CI' });
  try {
    await seed(admin, rows);
    const config = mysqlConfigSchema.parse({ ...server, database: DATABASE, batchSize, checkpointEvery: 10_000 });
    const stream = { name: 'customers', mode: 'incremental' as const, cursorField: 'updated_at', primaryKey: ['id'], config: { table: 'customers' } };

    // The floor: the command-line client writing every row (tab-separated) to /dev/null.
    const bin = clientBinary();
    const cli = (sql: string) =>
      `${bin} -h ${server.host} -P ${server.port} -u ${server.user} --batch --quick --skip-column-names ${DATABASE} -e "${sql}"`;
    const client = (sql: string, toNull: boolean) => (toNull ? `${cli(sql)} > /dev/null` : cli(sql));
    const full = await readsAgainstClient({ connector: mysqlSource, config, stream, rows, fullLabel: `connector full read (batch ${batchSize})`, client, env: { MYSQL_PWD: server.password } });

    // Incremental: touch 1% of the rows past the newest cursor value, read from the saved state.
    await admin.query(`SET @newest = (SELECT MAX(updated_at) FROM ${DATABASE}.customers)`);
    await admin.query(`UPDATE ${DATABASE}.customers SET updated_at = @newest + INTERVAL 1 SECOND + INTERVAL id % 1000 MICROSECOND, city = 'Updated' WHERE id % 100 = 7`);
    const [changed] = await admin.query<mysql.RowDataPacket[]>(`SELECT id FROM ${DATABASE}.customers WHERE id % 100 = 7`);
    const expected = new Set(changed.map((r) => String(r.id)));
    const inc = await measureRead(mysqlSource, config, stream, full.state, true);
    printIncremental(inc, expected);
  } finally {
    await admin.end();
  }
}
