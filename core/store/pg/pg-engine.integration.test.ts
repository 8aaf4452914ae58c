import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { PgConn } from './pg-conn.js';
import { TEST_PG_URL, dropSchema, uniqueSchema } from './__fixtures__/pg-test.js';
import { cli, pgPartition, sqlitePartition } from './__fixtures__/pg-engine.js';

// The example config (config/example.yaml: four sources, merges by the CRM, a
// file destination after the sync) run by the real CLI on SQLite and on
// PostgreSQL gives the same profiles: the same partition of record keys, the
// same traits and computed traits, and the same profiles written to the file.

const dirs: string[] = [];
const schemas: string[] = [];
const conns: PgConn[] = [];
afterAll(async () => {
  await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
  await Promise.all(schemas.map((s) => dropSchema(s).catch(() => undefined)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function copyExample(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `trib-pgex-${label}-${process.pid}-`));
  dirs.push(dir);
  cpSync(join(process.cwd(), 'config'), join(dir, 'config'), { recursive: true, filter: (src) => !src.includes('.tributary') });
  return dir;
}

/** The file destination's profiles, ids replaced by their records (ids differ between two runs). */
function fileProfiles(dir: string) {
  const lines = readFileSync(join(dir, 'out', 'profiles.jsonl'), 'utf8').trim().split('\n');
  return lines
    .map((l) => JSON.parse(l) as { records: Array<{ source: string; stream: string; recordId: string }>; traits: unknown; computed?: unknown; identifiers: unknown })
    .map((p) => ({ records: p.records.map((r) => `${r.source}/${r.stream}/${r.recordId}`).sort(), traits: p.traits, computed: p.computed, identifiers: p.identifiers }))
    .sort((a, b) => JSON.stringify(a.records).localeCompare(JSON.stringify(b.records)));
}

describe('config/example.yaml on SQLite and on PostgreSQL', () => {
  it('gives the same profiles (partition, traits, computed traits, delivered file), and prints the store without its password', async () => {
    const sq = copyExample('sqlite');
    const pg = copyExample('pg');
    const schema = uniqueSchema('example');
    schemas.push(schema);
    const file = join(pg, 'config', 'example.yaml');
    const config = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    // A password in the URL (trust auth ignores it) must not reach the output.
    const url = TEST_PG_URL.replace('postgres://postgres@', 'postgres://postgres:s3cret-pw@');
    config.store = { postgres: '${TRIB_TEST_DATABASE_URL}', schema };
    writeFileSync(file, stringify(config));

    const [a, b] = await Promise.all([
      cli(['sync', '--config', join(sq, 'config', 'example.yaml'), '--json']).done,
      cli(['sync', '--config', file, '--json'], { TRIB_TEST_DATABASE_URL: url }).done,
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const sa = JSON.parse(a.stdout);
    const sb = JSON.parse(b.stdout);
    expect(sb.ok).toBe(true);
    expect(sb.store).toBe(`postgres://postgres@127.0.0.1:5432/test schema ${schema}`);
    expect(b.stdout + b.stderr).not.toContain('s3cret-pw');
    expect(sb.profiles).toBe(sa.profiles);
    expect(sb.runs.map((r: { summary: unknown }) => r.summary)).toEqual(sa.runs.map((r: { summary: unknown }) => r.summary));

    const conn = new PgConn({ url: TEST_PG_URL, schema });
    conns.push(conn);
    const pa = sqlitePartition(join(sq, 'config', '.tributary', 'example.db'));
    const pb = await pgPartition(conn);
    // The example merges profiles (the CRM joins what the others made).
    expect(pa.profiles.some((p) => p.records.length >= 3)).toBe(true);
    expect(pb).toEqual(pa);
    expect(fileProfiles(pg)).toEqual(fileProfiles(sq));
    expect(fileProfiles(pg).length).toBe(sa.profiles);
  }, 300_000);
});
