import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { boot, type Booted } from '../container.js';
import { captureLogger } from '../../test/kit/context.js';
import { testPlugin } from '../../test/kit/inline-source.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { RunSummary } from '../store/types.js';

const opened: Booted[] = [];
const dirs: string[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

const ROWS = 40;
const people = Array.from({ length: ROWS }, (_, i) => ({ id: String(i).padStart(3, '0'), email: `p${i}@mail-box.net`, updated_at: '2026-01-01' }));

function writeConfig() {
  const dir = mkdtempSync(join(tmpdir(), `trib-runstatus-${process.pid}-`));
  dirs.push(dir);
  const file = join(dir, 'tributary.yaml');
  const db = join(dir, 'store.db');
  writeFileSync(
    file,
    stringify({
      store: { sqlite: db },
      sources: [
        {
          name: 'crm',
          connector: 'inline',
          batchSize: 5,
          config: { checkpointEvery: 5, streams: { people } },
          streams: [{ name: 'people', primaryKey: 'id', cursor: 'updated_at', mapping: { identifiers: { email: 'email' } } }],
        },
      ],
      destinations: [{ name: 'hook', connector: 'memory' }],
    }),
  );
  return { file, db };
}

async function start(file: string) {
  const logger = captureLogger();
  const b = await boot({ configFile: file, logger, plugins: [testPlugin().plugin] });
  opened.push(b);
  return { ...b, logger };
}

const records = (b: Booted) => (b.store as SqliteStore).counts().records;

describe('run status', () => {
  it('an aborted sync is recorded as interrupted with what it committed, delivers nothing, and the next run resumes', async () => {
    const { file } = writeConfig();
    const b = await start(file);
    const controller = new AbortController();
    const out = await b.engine.runSync('crm', {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.written >= 10) controller.abort('SIGTERM');
      },
    });
    const committed = records(b);
    expect(committed).toBeGreaterThanOrEqual(10);
    expect(committed).toBeLessThan(ROWS);
    expect(out).toMatchObject({ ok: false, interrupted: true });
    expect(out.error).toBe('interrupted by SIGTERM; the next run resumes from the last committed checkpoint');
    expect(out.summary!.streams.people.written).toBe(committed);
    const [run] = await b.store.recentRuns(1);
    expect(run).toMatchObject({ id: out.runId, status: 'interrupted', error: out.error });
    expect(run.summary!.streams.people.written).toBe(committed);
    expect(run.finishedAt).toBeDefined();
    // After-sync destinations were not run for a partial sync.
    expect(run.summary!.destinations).toBeUndefined();
    expect(await b.store.pendingOutbox('hook', 100)).toHaveLength(committed);

    const again = await b.engine.runSync('crm');
    expect(again.ok).toBe(true);
    expect(records(b)).toBe(ROWS);
    // Resumed, not restarted: the second run read only the rest.
    expect(again.summary!.streams.people.read).toBe(ROWS - committed);
  });

  it('while a sync runs, its row carries the counts committed so far', async () => {
    const { file, db } = writeConfig();
    const b = await start(file);
    // The run's row and the records as one statement sees them: one snapshot of the store, whichever thread commits.
    const raw = new Database(db, { readonly: true });
    const now = raw.prepare("SELECT status, summary, (SELECT COUNT(*) FROM records) AS records FROM runs WHERE kind = 'sync' ORDER BY id DESC LIMIT 1");
    const seen: Array<{ status: string; written?: number; records: number }> = [];
    try {
      await b.engine.runSync('crm', {
        onProgress: () => {
          const r = now.get() as { status: string; summary: string | null; records: number };
          seen.push({ status: r.status, written: r.summary ? (JSON.parse(r.summary) as RunSummary).streams.people.written : undefined, records: r.records });
        },
      });
    } finally {
      raw.close();
    }
    expect(seen.every((r) => r.status === 'running')).toBe(true);
    // Each time, exactly what is committed: the row is written in each batch's own transaction.
    for (const r of seen) expect(r.written, JSON.stringify(seen)).toBe(r.records);
    const written = [...new Set(seen.map((r) => r.written))];
    if ((b.store as SqliteStore).commitPipeline()) {
      // With the commit thread, the batch after the one just acknowledged may be committed too: whole batches, in order.
      expect(written.every((n, i) => n! % 5 === 0 && (i === 0 || n! > written[i - 1]!))).toBe(true);
      expect(written.at(-1)).toBe(ROWS);
    } else {
      // One row per batch of 5 (and one more for the closing checkpoint), each with the count committed by then.
      expect(written).toEqual(Array.from({ length: ROWS / 5 }, (_, i) => (i + 1) * 5));
    }
  });

  it('a run left running by a process that is gone is marked interrupted on the next start, and a re-run succeeds', async () => {
    const { file, db } = writeConfig();
    const b = await start(file);
    const stale = await b.store.startRun('crm', 'sync');
    const raw = new Database(db);
    // Above Linux's largest pid_max (2^22): no process has it.
    raw.prepare('UPDATE runs SET pid = ? WHERE id = ?').run(2 ** 22 + 17, stale);
    raw.close();
    const out = await b.engine.runSync('crm');
    expect(out.ok).toBe(true);
    const runs = new Map((await b.store.recentRuns(10)).map((r) => [r.id, r]));
    expect(runs.get(stale)).toMatchObject({ status: 'interrupted', error: expect.stringMatching(/is gone; the next run resumes/) });
    expect(runs.get(out.runId)!.status).toBe('succeeded');
    expect(b.logger.entries.some((e) => e.level === 'warn' && e.message.startsWith(`run #${stale} (sync crm) was interrupted: its process (pid ${2 ** 22 + 17}`))).toBe(true);
  });
});
