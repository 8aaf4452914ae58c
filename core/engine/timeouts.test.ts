import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { boot } from '../container.js';
import { loadConfigFile } from '../config/load.js';
import { captureLogger } from '../../test/kit/context.js';
import { PROJECT_ROOT } from '../plugin/loader.js';

// A real plugin folder, loaded by path from the YAML, whose read never yields again and whose write never returns.
const PLUGIN = resolve(PROJECT_ROOT, 'core/engine/__fixtures__/hanging-plugin');
const CLI = join(PROJECT_ROOT, 'dist/core/cli/main.js');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(cfg: (dir: string) => Record<string, unknown>): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'trib-timeouts-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'people.csv'), 'id,email\n1,ada@shop.io\n2,bob@shop.io\n');
  const file = join(dir, 'tributary.yaml');
  writeFileSync(file, stringify({ store: { sqlite: join(dir, 'store.db') }, plugins: [PLUGIN], ...cfg(dir) }));
  return { dir, file };
}

const people = { name: 'people', connector: 'csv', streams: [{ name: 'people', primaryKey: 'id', config: { path: './people.csv' }, mapping: { identifiers: { email: 'email' } } }] };
const stuck = (dir: string, extra: Record<string, unknown> = {}) => ({
  name: 'stuck',
  connector: 'hang-read',
  config: { abortMarker: join(dir, 'read-aborted') },
  streams: [{ name: 'items', mode: 'full_refresh', primaryKey: 'id', mapping: { identifiers: { email: 'email' } } }],
  ...extra,
});

describe('a source read that never yields again', () => {
  it('fails its sync after timeouts.readIdle with a line naming the sync, connector and plugin, aborts its signal, and the other sync completes', async () => {
    const { dir, file } = project((d) => ({ sources: [stuck(d, { timeouts: { readIdle: '300ms' } }), people] }));
    const b = await boot({ configFile: file, logger: captureLogger() });
    try {
      // Started together, as `run` starts syncs whose schedules fire at once.
      const [hung, ok] = await Promise.all([b.engine.runSync('stuck'), b.engine.runSync('people')]);
      expect(ok).toMatchObject({ ok: true });
      expect(ok.summary?.streams.people.written).toBe(2);
      expect(hung.ok).toBe(false);
      expect(hung.interrupted).toBeUndefined();
      const why =
        'connector "hang-read" (plugin hanging-fixture) yielded nothing for 300 ms (timeouts.readIdle); the read was stopped and the sync failed, the next run resumes from the last committed checkpoint';
      expect(hung.error).toBe(`sync stuck: ${why}`);
      expect(readFileSync(join(dir, 'read-aborted'), 'utf8')).toBe(why);
      const runs = await b.store.recentRuns(10);
      expect(runs.find((r) => r.name === 'stuck')).toMatchObject({ status: 'failed', error: `sync stuck: ${why}` });
    } finally {
      await b.close();
    }
  });

  it('the top-level timeouts apply to a source without its own', async () => {
    const { file } = project((d) => ({ timeouts: { readIdle: 250 }, sources: [stuck(d)] }));
    const b = await boot({ configFile: file, logger: captureLogger() });
    try {
      expect((await b.engine.runSync('stuck')).error).toMatch(/yielded nothing for 250 ms \(timeouts.readIdle\)/);
    } finally {
      await b.close();
    }
  });

  it('`tributary sync` prints the reason on one line, runs the other source, and exits 1 without a stack', async () => {
    const { file } = project((d) => ({ timeouts: { readIdle: '300ms' }, sources: [stuck(d), people] }));
    const res = await promisify(execFile)('node', [CLI, '-c', file, 'sync', 'stuck', 'people']).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(res.code).toBe(1);
    expect(res.stdout + res.stderr).toMatch(/stuck.*connector "hang-read" \(plugin hanging-fixture\) yielded nothing for 300 ms/);
    expect(res.stdout).toMatch(/people/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('timeouts in the YAML', () => {
  it('reads durations in ms, s, m and h, and refuses a bad one naming its path', () => {
    const { file } = project((d) => ({ timeouts: { readIdle: '1.5m', write: 750 }, sources: [stuck(d, { timeouts: { readIdle: '2h' } })] }));
    const c = loadConfigFile(file).config;
    expect(c.timeouts).toEqual({ readIdle: 90_000, write: 750 });
    expect(c.sources[0].timeouts).toEqual({ readIdle: 7_200_000 });
    const bad = project((d) => ({ sources: [stuck(d, { timeouts: { readIdle: 'soon' } })] }));
    expect(() => loadConfigFile(bad.file)).toThrow(/sources\[0\]\.timeouts\.readIdle.*expected a duration such as 250ms, 30s, 5m or 1h/);
  });
});

describe('a destination write that never returns', () => {
  const dest = (dir: string, hangFirst: number, attempts: number) => ({
    name: 'out',
    connector: 'hang-write',
    trigger: 'manual',
    config: { hangFirst, log: join(dir, `received-${hangFirst}.log`), abortMarker: join(dir, 'write-aborted') },
    timeouts: { write: '200ms' },
    retry: { attempts, initialDelayMs: 10, maxDelayMs: 20 },
  });

  it('is abandoned after timeouts.write, its signal aborted, and retried like a network failure', async () => {
    const { dir, file } = project((d) => ({ sources: [people], destinations: [dest(d, 1, 3)] }));
    const logger = captureLogger();
    const b = await boot({ configFile: file, logger });
    try {
      expect((await b.engine.runSync('people')).ok).toBe(true);
      const counts = await b.engine.deliverTo('out');
      expect(counts).toMatchObject({ delivered: 2, retried: 2, pending: 0, requests: 2 });
      expect(readFileSync(join(dir, 'received-1.log'), 'utf8').trim().split('\n').sort()).toHaveLength(2);
      const why = 'destination out: connector "hang-write" (plugin hanging-fixture) did not return from write within 200 ms (timeouts.write); counted as a network failure';
      expect(readFileSync(join(dir, 'write-aborted'), 'utf8')).toBe(why);
      expect(logger.entries.some((e) => e.level === 'warn' && e.message.includes('will be retried') && String(e.fields?.reason).includes('did not return from write within 200 ms'))).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('keeps the batch queued when every attempt hangs, and delivers it on a later run', async () => {
    const { dir, file } = project((d) => ({ sources: [people], destinations: [dest(d, 99, 2)] }));
    const b = await boot({ configFile: file, logger: captureLogger() });
    try {
      expect((await b.engine.runSync('people')).ok).toBe(true);
      await expect(b.engine.deliverTo('out')).rejects.toThrow('destination out: 2 item(s) still failing after 2 attempts; they stay queued for the next run');
      expect(existsSync(join(dir, 'received-99.log'))).toBe(false);
      expect(await b.store.pendingOutbox('out', 100, 0)).toHaveLength(2);
    } finally {
      await b.close();
    }
    // The same store, the destination fixed: nothing was lost.
    writeFileSync(file, stringify({ store: { sqlite: join(dir, 'store.db') }, plugins: [PLUGIN], sources: [people], destinations: [dest(dir, 0, 2)] }));
    const again = await boot({ configFile: file, logger: captureLogger() });
    try {
      expect(await again.engine.deliverTo('out')).toMatchObject({ delivered: 2, pending: 0 });
      expect(readFileSync(join(dir, 'received-0.log'), 'utf8').trim().split('\n')).toHaveLength(2);
    } finally {
      await again.close();
    }
  });
});
