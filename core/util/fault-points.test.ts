import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseFaultSpec } from './fault-points.js';

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

});
