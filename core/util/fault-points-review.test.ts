import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// The read loop asks isArmed('read.after-record') once per run and calls fault() per row only when it says so:
// the test in fault-points.test.ts runs where TRIBUTARY_FAULT is unset, so it cannot tell "this point is named"
// from "some point is named".
describe('isArmed in a process that set TRIBUTARY_FAULT', () => {
  it('is true for the point the variable names and false for one it does not', () => {
    const script = `
      import { isArmed } from ${JSON.stringify(join(process.cwd(), 'dist/core/util/fault-points.js'))};
      process.stdout.write(JSON.stringify([isArmed('batch.after-commit'), isArmed('read.after-record')]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, TRIBUTARY_FAULT: 'batch.after-commit:pause=1' },
    });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([true, false]);
  });
});
