import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isArmed, parseFaultSpec } from './fault-points.js';

describe('fault points', () => {
  it('parses point:action@n lists, defaulting n to 1', () => {
    const m = parseFaultSpec('commit.after-records:kill@3, resolve.inside-lock:throw');
    expect([...m]).toEqual([
      ['commit.after-records', { action: 'kill', at: 3, hits: 0 }],
      ['resolve.inside-lock', { action: 'throw', at: 1, hits: 0 }],
    ]);
  });

  it('parses pause=<ms>: a point that blocks the process for that long, then carries on', () => {
    expect([...parseFaultSpec('batch.after-commit:pause=2500@2')]).toEqual([['batch.after-commit', { action: 'pause', at: 2, hits: 0, ms: 2500 }]]);
    expect(parseFaultSpec('batch.after-commit:pause=').size).toBe(0);
  });

  it('ignores unknown points, actions and counts below 1 rather than arming them', () => {
    const m = parseFaultSpec('commit.nowhere:kill,commit.after:explode,commit.inside:kill@0');
    expect(m.size).toBe(0);
    expect(parseFaultSpec(undefined).size).toBe(0);
  });

  it('fires on exactly the n-th hit of the armed point, in a process that set the variable', () => {
    // A child process, because the variable is read once at module load.
    const script = `
      import { fault, FaultInjectedError } from ${JSON.stringify(join(process.cwd(), 'dist/core/util/fault-points.js'))};
      let fired = 0;
      for (let i = 1; i <= 5; i++) {
        fault('commit.before-commit');
        try { fault('commit.after'); } catch (e) { if (e instanceof FaultInjectedError) { fired = i; } }
      }
      process.stdout.write(String(fired));
      fault('batch.after-commit');
      process.stdout.write(' survived');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, TRIBUTARY_FAULT: 'commit.after:throw@4,batch.after-commit:kill' },
    });
    expect(r.stdout).toBe('4');
    expect(r.signal).toBe('SIGKILL');
  });

  it('isArmed is false for a point TRIBUTARY_FAULT does not name (this process sets none)', () => {
    expect(isArmed('read.after-record')).toBe(false);
  });

  it('after a pause, letSignalsIn resolves only once a SIGTERM sent during the pause has reached its listener', async () => {
    // A file read first, so the pause ends inside an I/O callback as it does in the read loop.
    const script = `
      import { fault, isArmed, letSignalsIn } from ${JSON.stringify(join(process.cwd(), 'dist/core/util/fault-points.js'))};
      import { readFile } from 'node:fs/promises';
      let stopped = false;
      process.on('SIGTERM', () => { stopped = true; });
      await readFile(${JSON.stringify(join(process.cwd(), 'package.json'))});
      const paused = isArmed('read.after-record') && fault('read.after-record');
      if (paused) await letSignalsIn();
      process.stdout.write(JSON.stringify({ paused, stopped }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TRIBUTARY_FAULT: 'read.after-record:pause=3000' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => d.toString().includes('read.after-record paused') && resolve()));
    child.kill('SIGTERM');
    await exited;
    expect(JSON.parse(out)).toEqual({ paused: true, stopped: true });
  });

});
