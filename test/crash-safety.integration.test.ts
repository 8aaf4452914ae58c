import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';

// A sync killed with SIGKILL at arbitrary points, then run to the end, must leave
// exactly the store a clean run leaves: no record lost, none duplicated, the
// same profiles. This runs the real CLI in a child process and really kills it.

const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');
const ROWS = 60_000;
let dir: string;

function writeData() {
  const lines = ['crm_id,first_name,email,phone,updated_at'];
  for (let i = 0; i < ROWS; i++) {
    // Every 4th row is another record of an earlier person (same email), so merges happen across batches.
    const p = i % 4 === 3 ? Math.floor(i / 3) : i;
    const email = i % 997 === 0 ? 'broken-email' : `person${p}@mail-box.net`;
    const phone = i % 5 === 0 ? `+1415${String(2000000 + p).padStart(7, '0')}` : '';
    lines.push(`${i},Name${p},${email},${phone},2026-01-01 00:00:${String(i % 60).padStart(2, '0')}`);
  }
  lines.push('"unterminated,row,with,a,quote');
  writeFileSync(join(dir, 'crm.csv'), `${lines.join('\n')}\n`);
}

function writeConfig(name: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      store: { sqlite: join(dir, `${name}.db`) },
      sources: [
        {
          name: 'crm',
          connector: 'csv',
          batchSize: 500,
          config: { checkpointEvery: 500 },
          streams: [
            {
              name: 'customers',
              primaryKey: 'crm_id',
              config: { path: join(dir, 'crm.csv') },
              mapping: { identifiers: { email: 'email', phone: 'phone', 'external_id.crm': 'crm_id' }, traits: { firstName: 'first_name' }, observedAt: 'updated_at' },
            },
          ],
        },
      ],
      resolution: { limits: { external_id: 100 } },
    }),
  );
  return file;
}

function syncToEnd(config: string) {
  const r = spawnSync(process.execPath, [CLI, 'sync', '--config', config, '--json'], { encoding: 'utf8' });
  expect(r.stderr).not.toMatch(/error:/);
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as { ok: boolean };
}

function committedRecords(db: string): number {
  try {
    const d = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return Number(d.prepare('SELECT COUNT(*) FROM records').pluck().get());
    } finally {
      d.close();
    }
  } catch {
    return 0;
  }
}

/** Start a sync and SIGKILL it once it has committed more than `after` records. */
async function killMidway(config: string, db: string, after: number): Promise<number> {
  const child = spawn(process.execPath, [CLI, 'sync', '--config', config], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (;;) {
    const n = committedRecords(db);
    if (n > after || child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // A little longer, so the kill lands at an arbitrary point inside a batch.
  await new Promise((r) => setTimeout(r, 17 + Math.floor(Math.random() * 60)));
  child.kill('SIGKILL');
  await exited;
  return committedRecords(db);
}

/** The store as a comparable value: records, the partition into profiles, profile content, state, dead letters. */
function snapshot(db: string) {
  const d = new Database(db, { readonly: true });
  try {
    const records = d.prepare('SELECT key, body, profile_id FROM records ORDER BY key').all() as Array<{ key: string; body: string; profile_id: string }>;
    const byProfile = new Map<string, string[]>();
    for (const r of records) byProfile.set(r.profile_id, [...(byProfile.get(r.profile_id) ?? []), r.key]);
    const profiles = d.prepare('SELECT id, body FROM profiles').all() as Array<{ id: string; body: string }>;
    const content = profiles
      .map((p) => {
        const b = JSON.parse(p.body);
        return JSON.stringify({ records: byProfile.get(p.id)?.sort(), identifiers: b.identifiers, traits: b.traits, n: b.recordCount });
      })
      .sort();
    const deadLetters = d.prepare('SELECT stream, record_id, origin, reason FROM dead_letters ORDER BY origin, record_id').all();
    const state = d.prepare('SELECT stream, state FROM state').all();
    const duplicates = Number(d.prepare('SELECT COUNT(*) - COUNT(DISTINCT key) FROM records').pluck().get());
    return { records: records.map((r) => [r.key, r.body]), content, deadLetters, state, duplicates };
  } finally {
    d.close();
  }
}

describe('crash safety', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'trib-crash-'));
    writeData();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a sync killed with SIGKILL three times, then finished, equals a clean run', async () => {
    syncToEnd(writeConfig('clean'));
    const clean = snapshot(join(dir, 'clean.db'));
    expect(clean.records.length).toBeGreaterThan(ROWS - 100);
    expect(clean.duplicates).toBe(0);

    const config = writeConfig('crashed');
    const db = join(dir, 'crashed.db');
    const seen: number[] = [];
    for (const after of [5_000, 25_000, 45_000]) seen.push(await killMidway(config, db, after));
    // Each kill really interrupted a run that had committed part of the file.
    expect(seen.every((n) => n > 0 && n < clean.records.length)).toBe(true);
    syncToEnd(config);
    const crashed = snapshot(db);

    expect(crashed.duplicates).toBe(0);
    expect(crashed.records.length).toBe(clean.records.length);
    expect(crashed.records).toEqual(clean.records);
    expect(crashed.content).toEqual(clean.content);
    expect(crashed.deadLetters).toEqual(clean.deadLetters);
    expect(crashed.state).toEqual(clean.state);
  });
});
