import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The CLI as users run it: the compiled dist/ (rebuilt by test/global-setup.ts), on compiled fixture plugins.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CLI = join(ROOT, 'dist/core/cli/main.js');
const FIXTURE = join(ROOT, 'core/sdk/__fixtures__/kit.yaml');
const plugin = (name: string) => join(ROOT, 'dist/core/sdk/__fixtures__/plugins', name);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [CLI, ...args], { cwd: ROOT, env: { ...process.env, TRIBUTARY_CONFIG: '' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tributary test connector (CLI)', () => {
  it('a correct plugin passes: exit 0, one PASS line per check', async () => {
    const r = await cli(['test', 'connector', plugin('good'), '--config', FIXTURE]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/^ {2}PASS /gm)).toHaveLength(18);
    expect(r.stdout).toMatch(/18 passed, 0 failed, 0 not exercised by the fixture\n$/);
  });

  it('a failing check exits 1 and --json carries the reason', async () => {
    const r = await cli(['test', 'connector', plugin('bad-retry'), '--config', FIXTURE, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { passed: boolean; results: Array<{ check: string; verdict: string; reason?: string }> };
    expect(report.passed).toBe(false);
    const bad = report.results.filter((x) => x.verdict === 'fail');
    expect(bad.map((x) => x.check)).toEqual(['retryable vs permanent errors']);
    expect(bad[0].reason).toMatch(/came back \{"status":"permanent"/);
  });

  it('runs against a built-in connector by id (jsonl, with a cursor tie across a checkpoint)', async () => {
    const r = await cli(['test', 'connector', 'jsonl', '--config', join(ROOT, 'core/sdk/__fixtures__/jsonl/kit.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  PASS  source jsonl: cursor ties at a checkpoint\n');
    expect(r.stdout).toMatch(/9 passed, 0 failed, 0 not exercised by the fixture\n$/);
  });

  it('without --config it says what it needs in one line', async () => {
    const r = await cli(['test', 'connector', plugin('good')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: test connector needs --config <fixture.yaml> (the connector config and what its data holds)\n');
  });
});
