import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WRITE_KEY, removeTrackingConfigs, trackingConfig, trackingStreams } from './__fixtures__/tracking-config.js';

// `tributary run --serve`: the server and the schedules in one process; the
// schedule drains what the server accepted. Runs the built CLI.
const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');
let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(removeTrackingConfigs);

describe('run --serve', () => {
  it('accepts events and drains them on the schedule in one process; SIGTERM exits 0', { timeout: 60_000 }, async () => {
    const { file, db } = trackingConfig({
      sources: [{ name: 'web', connector: 'tracking', schedule: '*/1 * * * * *', config: { writeKeys: ['${WEB_WRITE_KEY}'] }, streams: trackingStreams }],
    });
    child = spawn(process.execPath, [CLI, '--json-logs', 'run', '--serve', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, WEB_WRITE_KEY: WRITE_KEY } });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      let err = '';
      child!.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /"msg":"serve listening[^\n]*"port":(\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      void exited.then((code) => reject(new Error(`run exited (${code}): ${err}`)));
    });
    const r = await fetch(`http://127.0.0.1:${port}/v1/identify`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ userId: 'cust-9', traits: { email: 'nia@acme-shop.io', firstName: 'Nia' }, messageId: 'rs-1' }),
    });
    expect(r.status).toBe(200);
    const conn = new Database(db, { readonly: true });
    try {
      const deadline = Date.now() + 30_000;
      let profiles = 0;
      while (Date.now() < deadline && profiles === 0) {
        await new Promise((res) => setTimeout(res, 250));
        profiles = Number(conn.prepare('SELECT COUNT(*) FROM profiles').pluck().get());
      }
      expect(profiles).toBe(1);
      expect(conn.prepare("SELECT record_id FROM records WHERE source = 'web'").pluck().all()).toEqual(['rs-1']);
    } finally {
      conn.close();
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
