import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { boot } from '../container.js';
import { captureLogger } from '../../test/kit/context.js';
import { WRITE_KEY, removeTrackingConfigs, trackingConfig } from './__fixtures__/tracking-config.js';

// Crash test of issue 10: SIGKILL `tributary serve` (a child process) under
// load from this process, restart it, drain: every event that got a 2xx is
// stored exactly once. Runs the built CLI (vitest's global setup builds dist/).

const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.length = 0;
});

function startServe(file: string): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, '--json-logs', 'serve', '--config', file, '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WEB_WRITE_KEY: WRITE_KEY },
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"serve listening[^\n]*"port":(\d+)/.exec(err);
      if (m) resolve({ child, port: Number(m[1]), exited });
    });
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening: ${err}`)));
  });
}

const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

/** Workers posting batches of 10 unique events until `stop`; returns the ids that got a 2xx. */
async function load(port: number, prefix: string, stop: { now: boolean }, workers = 8): Promise<{ acked: string[]; sent: number }> {
  const acked: string[] = [];
  let sent = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let n = 0; !stop.now; n++) {
        const ids = Array.from({ length: 10 }, (_, i) => `${prefix}-${w}-${n}-${i}`);
        sent += ids.length;
        try {
          const r = await fetch(`http://127.0.0.1:${port}/v1/batch`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/json' },
            body: JSON.stringify({ batch: ids.map((id) => ({ type: 'track', userId: `u-${w}`, event: 'Viewed', messageId: id })) }),
          });
          if (r.status === 200) acked.push(...ids);
        } catch {
          return; // the server is gone: this worker is done
        }
      }
    }),
  );
  return { acked, sent };
}

afterAll(removeTrackingConfigs);

describe('serve crash safety', () => {
  it('SIGKILL under load, restart, drain: every acknowledged event is stored exactly once; SIGTERM exits 0', { timeout: 120_000 }, async () => {
    const { file, db } = trackingConfig();
    const first = await startServe(file);
    const stop = { now: false };
    const running = load(first.port, 'a', stop);
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    const a = await running;
    await first.exited;
    expect(a.acked.length).toBeGreaterThan(100);

    // Restart: a client resends some acknowledged ids (its retry) and new ones; then a graceful stop.
    const second = await startServe(file);
    const resent = a.acked.slice(0, 50);
    const r = await fetch(`http://127.0.0.1:${second.port}/v1/batch`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ batch: resent.map((id) => ({ type: 'track', userId: 'u-0', event: 'Viewed', messageId: id })) }),
    });
    expect(await r.json()).toMatchObject({ accepted: 0, duplicates: 50 });
    const stop2 = { now: false };
    const running2 = load(second.port, 'b', stop2, 4);
    await new Promise((r) => setTimeout(r, 500));
    second.child.kill('SIGTERM');
    stop2.now = true;
    const b = await running2;
    expect(await second.exited).toBe(0);

    const booted = await boot({ configFile: file, logger: captureLogger(), env: { ...process.env, WEB_WRITE_KEY: WRITE_KEY } });
    try {
      expect((await booted.engine.runSync('web')).ok).toBe(true);
    } finally {
      await booted.close();
    }
    const conn = new Database(db, { readonly: true });
    try {
      const stored = conn.prepare("SELECT record_id FROM records WHERE source = 'web' AND stream = 'track'").pluck().all() as string[];
      const counts = new Map<string, number>();
      for (const id of stored) counts.set(id, (counts.get(id) ?? 0) + 1);
      const missing = [...a.acked, ...b.acked].filter((id) => counts.get(id) !== 1);
      expect(missing).toEqual([]);
      // Nothing that was never sent, and the inbox fully drained.
      expect(stored.every((id) => /^[ab]-\d+-\d+-\d$/.test(id))).toBe(true);
      expect(conn.prepare('SELECT COUNT(*) FROM inbox').pluck().get()).toBe(0);
    } finally {
      conn.close();
    }
  });
});
