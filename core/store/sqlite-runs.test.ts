import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from './sqlite-store.js';
import { SCHEMA_VERSION } from './sqlite-schema.js';
import { SCHEMA_V1_SQL } from './__fixtures__/schema-v1.js';
import type { RunSummary } from './types.js';

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(async () => {
  while (stores.length) await stores.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), `trib-runs-${process.pid}-`));
  dirs.push(dir);
  return join(dir, 'store.db');
}

function open(file: string): SqliteStore {
  const s = new SqliteStore(file);
  stores.push(s);
  return s;
}

const summary = (read: number): RunSummary => ({
  streams: { people: { read, written: read, deadLettered: 0, warnings: 0 } },
  profiles: { created: read, updated: 0, merged: 0 },
});

describe('store schema migration', () => {
  it('a store written by schema 1 is migrated to the current schema, keeping its runs and data', async () => {
    const file = tempDb();
    const old = new Database(file);
    old.exec(SCHEMA_V1_SQL);
    old.prepare("INSERT INTO meta(key, value) VALUES ('schema_version', '1')").run();
    old.prepare("INSERT INTO runs(name, kind, started_at, status, summary) VALUES ('crm', 'sync', '2026-01-01T00:00:00.000Z', 'succeeded', ?)").run(JSON.stringify(summary(7)));
    old.prepare("INSERT INTO runs(name, kind, started_at, status) VALUES ('crm', 'sync', '2026-01-02T00:00:00.000Z', 'running')").run();
    old.prepare("INSERT INTO state(sync, stream, state, updated_at) VALUES ('crm', 'people', '{\"cursor\":\"x\"}', '2026-01-01')").run();
    old.close();

    const store = open(file);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(await store.loadState('crm')).toEqual({ people: { cursor: 'x' } });
    const before = await store.recentRuns(10);
    expect(before.map((r) => [r.id, r.status, r.pid])).toEqual([
      [2, 'running', undefined],
      [1, 'succeeded', undefined],
    ]);
    expect(before[1].summary).toEqual(summary(7));
    // The new columns work on the migrated table.
    const id = await store.startRun('crm', 'sync');
    const [latest] = await store.recentRuns(1);
    expect(latest).toMatchObject({ id, status: 'running', pid: process.pid, host: hostname() });
    // The run an old version left `running` has no pid: it is judged by its age alone.
    const gone = await store.interruptAbandonedRuns({ isAlive: () => true, staleMs: 60_000, now: new Date('2026-01-03T00:00:00Z') });
    expect(gone.map((r) => r.id)).toEqual([2]);
    await store.close();
    stores.pop();
    // Opening it again is a no-op.
    const again = open(file);
    expect(again.schemaVersion()).toBe(SCHEMA_VERSION);
    expect((await again.recentRuns(10)).length).toBe(3);
  });

  it('a store of a newer schema is refused with a clear message', () => {
    const file = tempDb();
    const s = open(file);
    void s.close();
    stores.pop();
    const raw = new Database(file);
    raw.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
    raw.close();
    expect(() => new SqliteStore(file)).toThrow(/written by a newer Tributary/);
  });
});

describe('runs', () => {
  it('live counts are written while running and kept when a run fails without a final summary', async () => {
    const store = open(tempDb());
    const id = await store.startRun('crm', 'sync');
    await store.updateRun(id, summary(500));
    expect((await store.recentRuns(1))[0]).toMatchObject({ status: 'running', summary: summary(500) });
    await store.finishRun(id, 'failed', undefined, 'boom');
    const [r] = await store.recentRuns(1);
    expect(r).toMatchObject({ status: 'failed', error: 'boom', summary: summary(500) });
    expect(r.finishedAt).toBeDefined();
    // A late heartbeat does not bring a finished run back.
    await store.updateRun(id, summary(900));
    expect((await store.recentRuns(1))[0].summary).toEqual(summary(500));
  });

  it('a run of this host whose process is gone is interrupted; live ones and this process are not', async () => {
    const file = tempDb();
    const store = open(file);
    const dead = await store.startRun('crm', 'sync');
    const alive = await store.startRun('shop', 'sync');
    const mine = await store.startRun('erp', 'sync');
    const raw = new Database(file);
    raw.prepare('UPDATE runs SET pid = ? WHERE id = ?').run(999_999_001, dead);
    raw.prepare('UPDATE runs SET pid = ? WHERE id = ?').run(999_999_002, alive);
    raw.close();
    const gone = await store.interruptAbandonedRuns({ isAlive: (pid) => pid === 999_999_002, staleMs: 600_000 });
    expect(gone.map((r) => r.id)).toEqual([dead]);
    const runs = new Map((await store.recentRuns(10)).map((r) => [r.id, r]));
    expect(runs.get(dead)!.status).toBe('interrupted');
    expect(runs.get(dead)!.error).toMatch(/pid 999999001 .* is gone; the next run resumes/);
    expect(runs.get(alive)!.status).toBe('running');
    expect(runs.get(mine)!.status).toBe('running');
  });

  it('a run of another host is interrupted only when its heartbeat is older than the limit', async () => {
    const file = tempDb();
    const store = open(file);
    const quiet = await store.startRun('crm', 'sync');
    const beating = await store.startRun('shop', 'sync');
    const raw = new Database(file);
    raw.prepare("UPDATE runs SET host = 'elsewhere', heartbeat_at = '2026-01-01T00:00:00.000Z' WHERE id = ?").run(quiet);
    raw.prepare("UPDATE runs SET host = 'elsewhere', heartbeat_at = '2026-01-01T00:09:00.000Z' WHERE id = ?").run(beating);
    raw.close();
    // Pids of another host mean nothing here: isAlive is never the judge.
    const gone = await store.interruptAbandonedRuns({ isAlive: () => false, staleMs: 5 * 60_000, now: new Date('2026-01-01T00:10:00Z') });
    expect(gone.map((r) => r.id)).toEqual([quiet]);
    expect(gone[0].error).toMatch(/no sign of life from pid \d+ on elsewhere since 2026-01-01T00:00:00.000Z/);
  });
});

describe('writes while another connection holds the write lock', () => {
  it('wait for it (past SQLite\'s busy timeout per try) and succeed once it is released; give up with a clear error after lockWaitMs', async () => {
    const file = tempDb();
    const holder = open(file);
    const patient = new SqliteStore(file, { lockWaitMs: 60_000 });
    stores.push(patient);
    const impatient = new SqliteStore(file, { lockWaitMs: 1 });
    stores.push(impatient);
    let release!: () => void;
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const held = holder.exclusive(() => {
      locked();
      return new Promise<void>((r) => (release = r));
    });
    await isLocked;
    await expect(impatient.startRun('crm', 'sync')).rejects.toThrow(/has been locked by another process for 0 s/);
    const waiting = patient.startRun('crm', 'sync');
    let done = false;
    void waiting.then(() => (done = true));
    // The waiting write sleeps between tries, so this process (timers, signals) keeps running meanwhile.
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    release();
    await held;
    expect(await waiting).toBe(1);
    expect((await holder.recentRuns(5)).map((r) => r.id)).toEqual([1]);
  });
});
