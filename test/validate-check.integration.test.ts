import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { adminConnection, server } from '../connectors/mysql/__fixtures__/seed.js';

// Issue 8, item 18: `validate --check` compares each SQL stream's mapping with
// the table's columns before any sync. Runs the built CLI (`npm run build` first).

const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');
const DB = `tributary_it_validate_${process.pid}_${randomBytes(3).toString('hex')}`;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), `trib-validate-${process.pid}-`));
  const admin = await adminConnection();
  try {
    await admin.query(`CREATE DATABASE ${DB}`);
    await admin.query(`CREATE TABLE ${DB}.customers (id INT PRIMARY KEY, email VARCHAR(100), first_name VARCHAR(50), updated_at DATETIME)`);
  } finally {
    await admin.end();
  }
});
afterAll(async () => {
  const admin = await adminConnection();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  } finally {
    await admin.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

function validate(mapping: Record<string, unknown>) {
  const file = join(dir, `${randomBytes(3).toString('hex')}.yaml`);
  writeFileSync(
    file,
    stringify({
      store: { sqlite: join(dir, 'store.db') },
      sources: [
        {
          name: 'shop',
          connector: 'mysql',
          config: { ...server, database: DB },
          streams: [{ name: 'customers', primaryKey: 'id', cursor: 'updated_at', config: { table: 'customers' }, mapping }],
        },
      ],
    }),
  );
  return spawnSync(process.execPath, [CLI, 'validate', '--check', '--config', file], { encoding: 'utf8' });
}

describe('validate --check', () => {
  it('reports a mapped column the table does not have, with the columns it has', () => {
    const r = validate({ identifiers: { email: 'emial' }, traits: { firstName: 'first_name' } });
    expect(r.status).toBe(2);
    expect(r.stdout).not.toMatch(/all reachable/);
    expect(r.stderr).toContain(
      `error: source shop: stream customers: the mapping reads "emial", not in table ${DB}.customers (columns: id, email, first_name, updated_at)`,
    );
  });
  it('passes a mapping whose columns all exist', () => {
    const r = validate({ identifiers: { email: 'email' }, traits: { firstName: 'first_name' }, observedAt: 'updated_at' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: ok \(1 sources, 0 destinations, all reachable\)$/m);
  });
});
