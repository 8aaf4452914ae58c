import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sqlDestinationSuite, type TestType } from '../sql-common/__fixtures__/destination-suite.js';
import { server } from './__fixtures__/seed.js';
import { postgresDestination, quoteIdent } from './destination.js';
import type { PostgresDestinationConfig } from './destination-config.js';

/** This run's own database: other engineers' suites run on the same server at the same time. */
const DATABASE = `tributary_dest_pg_${process.pid}_${randomBytes(3).toString('hex')}`;
const TYPES: Record<TestType, string> = { key: 'text PRIMARY KEY', text: 'text', varchar8: 'varchar(8)', int: 'integer', json: 'jsonb', timestamp: 'timestamptz' };
const qualified = (table: string) => `public.${quoteIdent(table)}`;

let admin: pg.Client;

async function client(database: string): Promise<pg.Client> {
  const c = new pg.Client({ ...server, database });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

sqlDestinationSuite<PostgresDestinationConfig>({
  engine: 'postgres',
  connector: postgresDestination,
  async setup() {
    const root = await client(process.env.PGDATABASE_TEST ?? 'test');
    try {
      await root.query(`CREATE DATABASE ${DATABASE} ENCODING 'UTF8' TEMPLATE template0`);
    } finally {
      await root.end();
    }
    admin = await client(DATABASE);
    return postgresDestination.spec.config.parse({ ...server, database: DATABASE, table: 'unset', lockTimeoutMs: 500 });
  },
  async teardown() {
    await admin?.end();
    const root = await client(process.env.PGDATABASE_TEST ?? 'test');
    try {
      await root.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    } finally {
      await root.end();
    }
  },
  async rows(table, keyColumn = 'id') {
    const res = await admin.query<Record<string, unknown>>(`SELECT * FROM ${qualified(table)}`);
    const out = new Map<string, Record<string, unknown>>();
    for (const r of res.rows) {
      for (const [k, v] of Object.entries(r)) if (v instanceof Date) r[k] = v.toISOString();
      out.set(String(r[keyColumn]), r);
    }
    return out;
  },
  async createTable(table, columns) {
    const defs = Object.entries(columns).map(([name, type]) => `${quoteIdent(name)} ${TYPES[type]}`);
    await admin.query(`CREATE TABLE ${qualified(table)} (${defs.join(', ')})`);
  },
  async tableExists(table) {
    const res = await admin.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [qualified(table)]);
    return res.rows[0].present;
  },
  async lockTable(table) {
    const holder = await client(DATABASE);
    await holder.query('BEGIN');
    await holder.query(`LOCK TABLE ${qualified(table)} IN ACCESS EXCLUSIVE MODE`);
    return {
      async release() {
        await holder.query('ROLLBACK').catch(() => undefined);
        await holder.end();
      },
    };
  },
  async killWaitingWriter() {
    for (;;) {
      const res = await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tributary' AND wait_event_type = 'Lock'",
        [DATABASE],
      );
      if (res.rows.length) {
        for (const r of res.rows) await admin.query('SELECT pg_terminate_backend($1)', [r.pid]);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  },
  // The test server trusts 127.0.0.1 (any password is accepted): an unknown role stands in for bad credentials.
  wrongCredentials: {
    config: { user: 'no_such_role_dest', password: 'hunter2-secret' },
    message: /^cannot connect to postgres at 127\.0\.0\.1:5432 as no_such_role_dest: role "no_such_role_dest" does not exist$/,
    secret: 'hunter2-secret',
  },
  tooLong: /^postgres: value too long for type character varying\(8\)$/,
});
