import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../sqlite-store.js';
import type { ProfileStore, RunSummary } from '../types.js';
import { PgStore } from './pg-store.js';
import { TEST_PG_URL, dropSchema, uniqueSchema } from './__fixtures__/pg-test.js';

// The runs table (sqlite-runs.test.ts's scenarios) on both stores, plus two
// PostgreSQL workers marking abandoned runs at once: each run is marked once.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/** A store and a way to change a run's row behind its back (another host, a dead pid). */
type Backend = { store: ProfileStore; set(id: number, cols: Record<string, unknown>): Promise<void>; another(): Promise<ProfileStore> };

const backends: Array<[string, () => Promise<Backend>]> = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), `trib-pgruns-${process.pid}-`));
      const file = join(dir, 's.db');
      const store = new SqliteStore(file);
      cleanups.push(async () => (await store.close(), rmSync(dir, { recursive: true, force: true })));
      return {
        store,
        async set(id, cols) {
          const raw = new Database(file);
          for (const [k, v] of Object.entries(cols)) raw.prepare(`UPDATE runs SET ${k} = ? WHERE id = ?`).run(v, id);
          raw.close();
        },
        async another() {
          const s = new SqliteStore(file);
          cleanups.push(() => s.close());
          return s;
        },
      };
    },
  ],
  [
    'postgres',
    async () => {
      const schema = uniqueSchema('runs');
      const store = await PgStore.open({ url: TEST_PG_URL, schema });
      cleanups.push(async () => (await store.close(), await dropSchema(schema)));
      return {
        store,
        async set(id, cols) {
          for (const [k, v] of Object.entries(cols)) await store.conn.q(`UPDATE runs SET ${k} = $1 WHERE id = $2`, [v, id]);
        },
        async another() {
          const s = await PgStore.open({ url: TEST_PG_URL, schema });
          cleanups.push(() => s.close());
          return s;
        },
      };
    },
  ],
];

const summary = (read: number): RunSummary => ({
  streams: { people: { read, written: read, deadLettered: 0, warnings: 0 } },
  profiles: { created: read, updated: 0, merged: 0 },
});

describe.each(backends)('runs on %s', (_name, open) => {
  it('live counts are written while running and kept when a run fails without a final summary', async () => {
    const { store } = await open();
    const id = await store.startRun('crm', 'sync');
    await store.updateRun(id, summary(500));
    expect((await store.recentRuns(1))[0]).toMatchObject({ id, status: 'running', summary: summary(500), pid: process.pid });
    await store.finishRun(id, 'failed', undefined, 'boom');
    const [r] = await store.recentRuns(1);
    expect(r).toMatchObject({ status: 'failed', error: 'boom', summary: summary(500) });
    expect(r.finishedAt).toBeDefined();
    await store.updateRun(id, summary(900));
    expect((await store.recentRuns(1))[0].summary).toEqual(summary(500));
  });

  it('a run of this host whose process is gone is interrupted; live ones and this process are not', async () => {
    const b = await open();
    const dead = await b.store.startRun('crm', 'sync');
    const alive = await b.store.startRun('shop', 'sync');
    const mine = await b.store.startRun('erp', 'sync');
    await b.set(dead, { pid: 999_999_001 });
    await b.set(alive, { pid: 999_999_002 });
    const gone = await b.store.interruptAbandonedRuns({ isAlive: (pid) => pid === 999_999_002, staleMs: 600_000 });
    expect(gone.map((r) => r.id)).toEqual([dead]);
    const runs = new Map((await b.store.recentRuns(10)).map((r) => [r.id, r]));
    expect(runs.get(dead)!.status).toBe('interrupted');
    expect(runs.get(dead)!.error).toMatch(/pid 999999001 .* is gone; the next run resumes/);
    expect(runs.get(alive)!.status).toBe('running');
    expect(runs.get(mine)!.status).toBe('running');
    expect((await b.store.recentRuns(10)).map((r) => r.id)).toEqual([mine, alive, dead]);
  });

  it('a run of another host is interrupted only when its heartbeat is older than the limit; two workers mark it once', async () => {
    const b = await open();
    const quiet = await b.store.startRun('crm', 'sync');
    const beating = await b.store.startRun('shop', 'sync');
    await b.set(quiet, { host: 'elsewhere', heartbeat_at: '2026-01-01T00:00:00.000Z' });
    await b.set(beating, { host: 'elsewhere', heartbeat_at: '2026-01-01T00:09:00.000Z' });
    const other = await b.another();
    const policy = { isAlive: () => false, staleMs: 5 * 60_000, now: new Date('2026-01-01T00:10:00Z') };
    const [g1, g2] = await Promise.all([b.store.interruptAbandonedRuns(policy), other.interruptAbandonedRuns(policy)]);
    const gone = [...g1, ...g2];
    expect(gone.map((r) => r.id)).toEqual([quiet]);
    expect(gone[0].error).toMatch(/no sign of life from pid \d+ on elsewhere since 2026-01-01T00:00:00.000Z/);
  });
});
