import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { boot } from '../../core/container.js';
import { captureLogger } from '../../test/kit/context.js';
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

describe('postgres destination in the engine', () => {
  it('a sync from YAML loads the destination from the plugin and delivers each profile once, as one row', async () => {
    const dir = mkdtempSync(join(tmpdir(), `trib-pgdest-${process.pid}-`));
    try {
      writeFileSync(
        join(dir, 'people.jsonl'),
        ['{"id":1,"email":"ann@mail-box.net","name":"Ann"}', '{"id":2,"email":"bob@mail-box.net","name":"Bob"}', '{"id":3,"email":"  Cy@Mail-Box.net ","name":"Cy"}'].join('\n'),
      );
      const file = join(dir, 'tributary.yaml');
      writeFileSync(
        file,
        stringify({
          store: { sqlite: join(dir, 'store.db') },
          sources: [
            {
              name: 'crm',
              connector: 'jsonl',
              streams: [{ name: 'people', primaryKey: 'id', config: { path: join(dir, 'people.jsonl') }, mapping: { identifiers: { email: 'email' }, traits: { firstName: 'name' } } }],
            },
          ],
          destinations: [{ name: 'warehouse', connector: 'postgres', config: { ...server, database: DATABASE, table: 'engine_profiles', createTable: true, mirror: true } }],
        }),
      );
      const booted = await boot({ configFile: file, logger: captureLogger() });
      try {
        const out = await booted.engine.runSync('crm');
        expect(out.ok).toBe(true);
        expect(out.summary!.profiles.created).toBe(3);
        expect(out.summary!.destinations).toEqual({ warehouse: expect.objectContaining({ delivered: 3, failed: 0, retried: 0, unchanged: 0, pending: 0 }) });
      } finally {
        await booted.close();
      }
      const res = await admin.query<{ id: string; email: string; profile: { id: string; traits: Record<string, unknown> } }>('SELECT id, email, profile FROM engine_profiles ORDER BY email');
      // The email column holds the normalized identifier; the document is the profile the store holds.
      expect(res.rows.map((r) => [r.email, r.profile.traits.firstName])).toEqual([['ann@mail-box.net', 'Ann'], ['bob@mail-box.net', 'Bob'], ['cy@mail-box.net', 'Cy']]);
      expect(res.rows.every((r) => r.profile.id === r.id)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
