import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';

// Runs reported truthfully (issue 8, items 11, 12, 15): the real CLI in a child
// process, stopped by real signals.

const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');
const ROWS = 40_000;
let dir: string;

// Runs the built CLI: `npm test` builds first (pretest); after editing, `npm run build`.
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `trib-signals-${process.pid}-`));
  const lines = ['id,email,updated_at'];
  for (let i = 0; i < ROWS; i++) lines.push(`${i},p${i}@mail-box.net,2026-01-01`);
  writeFileSync(join(dir, 'people.csv'), `${lines.join('\n')}\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string): { file: string; db: string; out: string } {
  const file = join(dir, `${name}.yaml`);
  const db = join(dir, `${name}.db`);
  const out = join(dir, `${name}-export.jsonl`);
  writeFileSync(
    file,
    stringify({
      store: { sqlite: db },
      sources: [
        {
          name: 'crm',
          connector: 'csv',
          batchSize: 500,
          config: { checkpointEvery: 500 },
          streams: [{ name: 'people', primaryKey: 'id', config: { path: join(dir, 'people.csv') }, mapping: { identifiers: { email: 'email' } } }],
        },
      ],
      destinations: [{ name: 'export', connector: 'file', trigger: 'after-sync', config: { path: out, format: 'jsonl' } }],
    }),
  );
  return { file, db, out };
}

function query<T>(db: string, sql: string): T | undefined {
  try {
    const d = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return d.prepare(sql).get() as T;
    } finally {
      d.close();
    }
  } catch {
    return undefined;
  }
}
const records = (db: string) => query<{ n: number }>(db, 'SELECT COUNT(*) AS n FROM records')?.n ?? 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Start a command, wait until it has committed some records (not all), then signal `target(child)`. */
async function stopMidway(
  cmd: string,
  args: string[],
  db: string,
  signal: NodeJS.Signals,
  opts: { cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; child: ChildProcess }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (records(db) === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill(signal);
  const code = await exited;
  return { code, stdout, stderr, child };
}

function status(file: string): Array<{ id: number; kind: string; status: string; error?: string; pid?: number; summary?: { streams: Record<string, { written: number }> } }> {
  const r = spawnSync(process.execPath, [CLI, 'status', '--config', file, '--json'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout).runs;
}

describe('a sync stopped by a signal', () => {
  for (const [signal, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${signal}: exits ${code}, says it was interrupted and what it committed, delivers nothing; the next run resumes`, { timeout: 120_000 }, async () => {
      const { file, db, out } = writeConfig(signal.toLowerCase());
      const r = await stopMidway(process.execPath, [CLI, 'sync', '--config', file], db, signal);
      expect(r.code).toBe(code);
      const committed = records(db);
      expect(committed).toBeGreaterThan(0);
      expect(committed).toBeLessThan(ROWS);
      expect(r.stdout).not.toMatch(/crm: ok/);
      expect(r.stdout).toContain(`crm: INTERRUPTED after committing ${committed} records: interrupted by ${signal}; the next run resumes from the last committed checkpoint`);
      expect(r.stdout).toContain(`not delivered (${signal}): export; they run after the next sync that completes`);
      expect(existsSync(out)).toBe(false);
      const [run] = status(file);
      expect(run.status).toBe('interrupted');
      expect(run.summary!.streams.people.written).toBe(committed);

      const again = spawnSync(process.execPath, [CLI, 'sync', '--config', file, '--json'], { encoding: 'utf8' });
      expect(again.status, again.stderr).toBe(0);
      const report = JSON.parse(again.stdout) as { runs: Array<{ summary: { streams: { people: { read: number } } } }> };
      // Resumed from the last checkpoint (one every 500 rows; rows committed past it are read again, idempotently).
      expect(report.runs[0].summary.streams.people.read).toBe(ROWS - Math.floor(committed / 500) * 500);
      expect(records(db)).toBe(ROWS);
      expect(existsSync(out)).toBe(true);
    });
  }

  it('SIGKILL: status shows the run interrupted, not running, and a re-run succeeds', { timeout: 120_000 }, async () => {
    const { file, db } = writeConfig('sigkill');
    const r = await stopMidway(process.execPath, [CLI, 'sync', '--config', file], db, 'SIGKILL');
    expect(r.code).toBe(null);
    const [killed] = status(file);
    expect(killed.status).toBe('interrupted');
    expect(killed.error).toMatch(/its process \(pid \d+ on .*\) is gone; the next run resumes/);
    const again = spawnSync(process.execPath, [CLI, 'sync', '--config', file], { encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
    const runs = status(file);
    expect(runs.map((x) => `${x.kind} ${x.status}`)).toEqual(['deliver succeeded', 'sync succeeded', 'sync interrupted']);
  });

  it('SIGTERM to the documented `npm run tributary --` reaches tributary: recorded interrupted, no orphan left', { timeout: 120_000 }, async () => {
    const { file, db } = writeConfig('npm');
    const r = await stopMidway('npm', ['run', '--silent', 'tributary', '--', 'sync', '--config', file], db, 'SIGTERM', { cwd: process.cwd() });
    expect(r.code).not.toBe(0);
    const run = query<{ status: string; pid: number }>(db, 'SELECT status, pid FROM runs ORDER BY id DESC LIMIT 1')!;
    // npm waits for its child, so by now the real process (whose pid the run recorded) is gone.
    expect(run.pid).not.toBe(r.child.pid);
    expect(alive(run.pid)).toBe(false);
    expect(run.status).toBe('interrupted');
  });

  it('status -n refuses a count that is not a positive whole number, naming the option', () => {
    const { file } = writeConfig('options');
    for (const bad of ['abc', '0', '-3']) {
      const r = spawnSync(process.execPath, [CLI, 'status', '--config', file, '-n', bad], { encoding: 'utf8' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`error: option '-n, --limit <n>' argument '${bad}' is invalid. expected a whole number from 1 up (for example 20)`);
      expect(r.stderr).not.toMatch(/datatype mismatch/);
    }
  });
});
