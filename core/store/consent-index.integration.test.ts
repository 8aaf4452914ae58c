import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from './sqlite-store.js';
import { PgConn } from './pg/pg-conn.js';
import { CONSENT_PG_SCHEMA_SQL } from './pg/pg-consent.js';
import { TEST_PG_URL, dropSchema, uniqueSchema } from './pg/__fixtures__/pg-test.js';

const dirs: string[] = [];
const schemas: string[] = [];
afterEach(async () => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
  await Promise.all(schemas.splice(0).map(dropSchema));
});

const plan = (db: Database.Database, sql: string) =>
  (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(null) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');

describe('consent statements by record key', () => {
  it('SQLite: a store that had the separate record_key index loses it on open, and lookups by record key use the unique index', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-consent-index-'));
    dirs.push(dir);
    const file = join(dir, 'store.db');
    await new SqliteStore(file, { commitThread: false }).close();
    const old = new Database(file);
    old.exec('CREATE INDEX consent_statements_record ON consent_statements(record_key)');
    old.close();
    await new SqliteStore(file, { commitThread: false }).close();
    const db = new Database(file, { readonly: true });
    try {
      const indexes = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'consent_statements'").pluck().all();
      expect(indexes).toStrictEqual(['sqlite_autoindex_consent_statements_1']);
      // What forget and explain run: neither may scan the table.
      expect(plan(db, 'DELETE FROM consent_statements WHERE record_key = ?')).toMatch(/USING (COVERING )?INDEX sqlite_autoindex_consent_statements_1 \(record_key=\?\)/);
      const join = plan(db, 'SELECT c.purpose FROM consent_statements c JOIN records r ON r.key = c.record_key WHERE r.profile_id = ?');
      expect(join).toMatch(/SEARCH c USING (COVERING )?INDEX sqlite_autoindex_consent_statements_1 \(record_key=\?\)/);
      expect(join).not.toMatch(/SCAN c\b/);
    } finally {
      db.close();
    }
  });

  it('PostgreSQL: the separate record_key index is dropped where the schema is applied', async () => {
    const schema = uniqueSchema('consentidx');
    schemas.push(schema);
    const c = new PgConn({ url: TEST_PG_URL, schema, connectTimeoutMs: 3000 });
    try {
      await c.q(`CREATE SCHEMA "${schema}"`);
      await c.q(CONSENT_PG_SCHEMA_SQL);
      await c.q('CREATE INDEX consent_statements_record ON consent_statements(record_key)');
      await c.q(CONSENT_PG_SCHEMA_SQL);
      const rows = await c.q<{ indexname: string; indexdef: string }>('SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [
        schema,
        'consent_statements',
      ]);
      expect(rows.map((r) => r.indexname)).not.toContain('consent_statements_record');
      // The unique index that serves record_key lookups is there, record_key first.
      expect(rows.some((r) => /UNIQUE INDEX .*\(record_key, purpose, observed_at, value\)/.test(r.indexdef))).toBe(true);
    } finally {
      await c.close();
    }
  });
});
