import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { runSync, tempDir, writeConfig, writeData } from './crash/dataset.js';

// `read.after-record:throw` is a failure of the sync runner's read loop, injected by a test: the run must fail as it
// does at every other point, not be taken for a flaky source and retried (the source never failed).
const dir = tempDir('read-throw');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TRIBUTARY_FAULT=read.after-record:throw', () => {
  it('fails the sync at the armed row, without a retry', { timeout: 60_000 }, () => {
    writeData(dir, 100, 10);
    const { config } = writeConfig(dir, 'throw');
    const r = runSync(config, 'read.after-record:throw@5');
    const out = r.stdout + r.stderr;
    expect(out).toContain('fault injected at read.after-record (hit 5)');
    expect(out).not.toMatch(/retrying|\(csv\) failed/);
    expect(r.code, out).toBe(1);
  });
});
