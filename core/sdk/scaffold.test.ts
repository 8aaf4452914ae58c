import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadKitFixture } from './fixture.js';
import { runKit } from './kit-runner.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist/core/cli/main.js');
// Inside the repo tree (so imports of core/ and node_modules resolve), outside every vitest/tsc include.
const tmp = mkdtempSync(join(ROOT, '.tmp-scaffold-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)('node', [CLI, ...args], { cwd: tmp, env: { ...process.env, TRIBUTARY_CONFIG: '' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tributary new connector', () => {
  it('scaffolds a plugin in the house shape that type-checks and passes the kit out of the box', async () => {
    const r = await cli(['new', 'connector', 'acme-crm', '--source', '--destination', '--dir', 'plugins']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'created plugins/acme-crm/ (README.md, __fixtures__/.gitignore, __fixtures__/kit.yaml, __fixtures__/people-more.json, __fixtures__/people.json, acme-crm.integration.test.ts, acme-crm.test.ts, config.ts, destination.ts, index.ts, package.json, source.ts)\n' +
        'next: npx vitest run plugins/acme-crm   then edit the TODO(acme-crm) parts\n',
    );
    const folder = join(tmp, 'plugins', 'acme-crm');
    expect(JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'))).toMatchObject({ name: 'tributary-connector-acme-crm', type: 'module', main: 'dist/index.js' });
    expect(readFileSync(join(folder, 'acme-crm.integration.test.ts'), 'utf8')).toContain('AUTHOR: POINT THIS TEST AT YOUR SYSTEM.');

    writeFileSync(join(tmp, 'tsconfig.json'), JSON.stringify({ extends: '../tsconfig.json', include: ['plugins/**/*.ts'] }));
    const tsc = await promisify(execFile)('node', [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(tmp, 'tsconfig.json'), '--noEmit'], { cwd: ROOT }).catch(
      (err: { stdout: string }) => ({ stdout: err.stdout, failed: true }),
    );
    expect(tsc.stdout).toBe('');

    const report = await runKit(folder, loadKitFixture(join(folder, '__fixtures__', 'kit.yaml')), { timeoutMs: 10_000 });
    const verdict = Object.fromEntries(report.results.map((x) => [`${x.kind} ${x.check}`, x.reason ? `${x.verdict}: ${x.reason}` : x.verdict]));
    expect(verdict).toEqual({
      'source spec': 'pass',
      'source check (good config)': 'pass',
      'source check (bad config)': 'pass',
      'source discover': 'pass',
      'source full read': 'pass',
      'source incremental from saved state': 'pass',
      'source far-future state': 'pass',
      'source cursor ties at a checkpoint': 'pass',
      'source interruption and resume': 'pass',
      'destination spec': 'pass',
      'destination check': 'pass',
      'destination bad config': 'pass',
      'destination write': 'pass',
      'destination idempotent re-write': 'pass',
      'destination retryable vs permanent errors': 'pass',
      'destination rate-limit response honoured': 'not-exercised: the fixture gives no `rateLimited:` config (a target that answers 429)',
      'destination delete': 'pass',
      'destination merge followed': 'pass',
    });
  }, 120_000);

  it('refuses a name that is not a connector id, in one line', async () => {
    const r = await cli(['new', 'connector', 'Acme_CRM']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: "Acme_CRM" is not a connector id: use lower-case letters, digits and single dashes, starting with a letter (e.g. my-crm)\n');
  });

  it('refuses a folder that exists and is not empty, and leaves it alone', async () => {
    const taken = join(tmp, 'plugins', 'taken');
    mkdirSync(taken, { recursive: true });
    writeFileSync(join(taken, 'keep.txt'), 'mine');
    const r = await cli(['new', 'connector', 'taken']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`error: ${taken} already exists and is not empty; pick another name or --dir\n`);
    expect(readFileSync(join(taken, 'keep.txt'), 'utf8')).toBe('mine');
  });
});
