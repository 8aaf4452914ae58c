import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { postgresConfigSchema } from '../connectors/postgres/config.js';
import { postgresSource } from '../connectors/postgres/source.js';
import { arg, fmt, timed } from './measure.js';
// The read/measure helpers are shared with the MySQL benchmark, so both report the same figures the same way.
import { measureRead, printIncremental, readsAgainstClient } from './mysql.js';

/**
 * `npm run bench -- postgres [--rows N] [--batch N]`: the postgres source
 * reading a customers table against `psql \copy`, then an incremental run over
 * 1% updated rows. Connection from PGHOST/PGPORT/PGUSER/PGPASSWORD (default
 * 127.0.0.1:5432 as postgres); the database is created from `test`.
 */

const DATABASE = 'tributary_bench_pg';

/** Seed `rows` customers server-side (generate_series), unless exactly that many are there already. */
async function seed(server: pg.ClientConfig, rows: number): Promise<void> {
  const root = new pg.Client({ ...server, database: process.env.PGDATABASE ?? 'test' });
  await root.connect();
  try {
    const exists = await root.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!exists.rowCount) await root.query(`CREATE DATABASE ${DATABASE} ENCODING 'UTF8' TEMPLATE template0`);
  } finally {
    await root.end();
  }
  const c = new pg.Client({ ...server, database: DATABASE });
  await c.connect();
  try {
    const table = await c.query("SELECT to_regclass('public.customers') IS NOT NULL AS present");
    if (table.rows[0].present) {
      const count = await c.query<{ n: string }>('SELECT count(*) AS n FROM customers');
      if (Number(count.rows[0].n) === rows) {
        process.stdout.write(`seed: ${DATABASE}.customers already holds ${fmt(rows)} rows, kept\n`);
        return;
      }
    }
    const t = await timed(async () => {
      await c.query('DROP TABLE IF EXISTS customers');
      await c.query(`CREATE TABLE customers (
        id int8 PRIMARY KEY, email text NOT NULL, first_name text, last_name text, phone text, city text, country char(2),
        lifetime_value numeric(12,2), created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)`);
      await c.query(
        `INSERT INTO customers
         SELECT n, 'customer' || n || '@example.com',
           (ARRAY['Ann','Bob','Chloé','David','Emma','Farid','Greta','Hugo','Inès','Jon'])[1 + (n - 1) % 10],
           (ARRAY['Martin','Smith','Dubois','Müller','Rossi','García','Nguyen','Kowalski'])[1 + (n - 1) % 8],
           '+1415' || lpad(((n - 1) % 9999999)::text, 7, '0'),
           (ARRAY['Paris','Berlin','São Paulo','東京','Zürich'])[1 + (n - 1) % 5],
           (ARRAY['FR','DE','BR','JP','CH'])[1 + (n - 1) % 5],
           ((n - 1) % 100000) / 100.0,
           timestamptz '2023-01-01 00:00:00+00' + (n - 1) * interval '1 second',
           timestamptz '2024-01-01 00:00:00+00' + ((n - 1) / 10) * interval '1 second'
         FROM generate_series(1, $1::int8) n`,
        [rows],
      );
      await c.query('CREATE INDEX customers_updated_at ON customers (updated_at, id)');
      await c.query('VACUUM ANALYZE customers');
    });
    process.stdout.write(`seed: ${fmt(rows)} rows into ${DATABASE}.customers in ${fmt(t.seconds, 1)} s\n`);
  } finally {
    await c.end();
  }
}

export async function run(args: string[]): Promise<void> {
  const rows = arg(args, 'rows', 1_000_000);
  const batchSize = arg(args, 'batch', 10_000);
  const server = {
    host: process.env.PGHOST ?? '127.0.0.1',
    port: Number(process.env.PGPORT ?? 5432),
    user: process.env.PGUSER ?? 'postgres',
    password: process.env.PGPASSWORD ?? '',
  };
  if (spawnSync('/bin/sh', ['-c', 'command -v psql']).status !== 0) throw new Error('the psql command-line client is not installed');
  await seed(server, rows);
  const config = postgresConfigSchema.parse({ ...server, database: DATABASE, batchSize, checkpointEvery: 10_000 });
  const stream = { name: 'customers', mode: 'incremental' as const, cursorField: 'updated_at', primaryKey: ['id'], config: { table: 'customers' } };

  // The floor: psql copying every row (COPY text format) to /dev/null.
  const psql = (sql: string, to: string) =>
    `psql -X -q -h ${server.host} -p ${server.port} -U ${server.user} -d ${DATABASE} -c "\\copy (${sql}) TO ${to}"`;
  const client = (sql: string, toNull: boolean) => psql(sql, toNull ? "'/dev/null'" : 'STDOUT');
  const full = await readsAgainstClient({ connector: postgresSource, config, stream, rows, fullLabel: `connector full read (FETCH ${batchSize})`, client, env: { PGPASSWORD: server.password } });

  // Incremental: touch 1% of the rows past the newest cursor value, read from the saved state.
  const c = new pg.Client({ ...server, database: DATABASE });
  await c.connect();
  try {
    await c.query(
      `UPDATE customers SET updated_at = (SELECT max(updated_at) FROM customers) + interval '1 second' + (id % 1000) * interval '1 microsecond', city = 'Updated'
       WHERE id % 100 = 7`,
    );
    const changed = await c.query<{ id: string }>('SELECT id FROM customers WHERE id % 100 = 7');
    const expected = new Set(changed.rows.map((r) => String(r.id)));
    const inc = await measureRead(postgresSource, config, stream, full.state, true);
    printIncremental(inc, expected);
  } finally {
    await c.end();
  }
}
