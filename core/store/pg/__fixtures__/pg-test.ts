import pg from 'pg';
import { PgConn } from '../pg-conn.js';

/** The machine's PostgreSQL (trust auth); override with TRIBUTARY_TEST_PG_URL. */
export const TEST_PG_URL = process.env.TRIBUTARY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other run uses: two checkouts testing at once do not meet. */
export function uniqueSchema(tag: string): string {
  return `trib_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** Drop a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: TEST_PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

/** A connection on a fresh schema, and how to drop it. */
export function testConn(tag: string, opts: { max?: number } = {}): { conn: PgConn; schema: string; drop: () => Promise<void> } {
  const schema = uniqueSchema(tag);
  const conn = new PgConn({ url: TEST_PG_URL, schema, max: opts.max });
  return {
    conn,
    schema,
    drop: async () => {
      await conn.close().catch(() => undefined);
      await dropSchema(schema);
    },
  };
}
