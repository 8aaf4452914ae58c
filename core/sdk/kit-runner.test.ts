import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadKitFixture } from './fixture.js';
import { formatKitReport, runKit, type KitReport } from './kit-runner.js';

const here = dirname(fileURLToPath(import.meta.url));
const plugin = (name: string) => join(here, '__fixtures__', 'plugins', name);
const fixture = loadKitFixture(join(here, '__fixtures__', 'kit.yaml'));

const verdicts = (r: KitReport, kind: 'source' | 'destination') =>
  Object.fromEntries(r.results.filter((x) => x.kind === kind).map((x) => [x.check, x.verdict]));
const failed = (r: KitReport) => r.results.filter((x) => x.verdict === 'fail').map((x) => `${x.kind} ${x.check}`);

describe('tributary test connector: the kit runner', () => {
  it('a correct plugin passes every check, each exercised', async () => {
    const r = await runKit(plugin('good'), fixture, { timeoutMs: 5000 });
    expect(failed(r)).toEqual([]);
    expect(r.passed).toBe(true);
    expect(r.results.filter((x) => x.verdict === 'not-exercised')).toEqual([]);
    expect(Object.keys(verdicts(r, 'source'))).toEqual([
      'spec', 'check (good config)', 'check (bad config)', 'discover', 'full read', 'incremental from saved state',
      'far-future state', 'cursor ties at a checkpoint', 'interruption and resume',
    ]);
    expect(Object.keys(verdicts(r, 'destination'))).toEqual([
      'spec', 'check', 'bad config', 'write', 'idempotent re-write', 'retryable vs permanent errors',
      'rate-limit response honoured', 'delete', 'merge followed',
    ]);
  });

  it('a source that re-reads tied records on resume fails the incremental, tie and resume checks, and only those', async () => {
    const r = await runKit(plugin('dup-on-resume'), fixture, { timeoutMs: 5000 });
    expect(r.passed).toBe(false);
    expect(failed(r)).toEqual(['source incremental from saved state', 'source cursor ties at a checkpoint', 'source interruption and resume']);
    const resume = r.results.find((x) => x.check === 'interruption and resume')!;
    expect(resume.reason).toBe('stopped after 4 of 6 records; resuming from {"c":2,"id":3} read 1 record(s) again: ["3"]');
  });

  it('a read that never yields fails each reading check with the connector and check named, within the deadline', async () => {
    const r = await runKit(plugin('never-yields'), fixture, { timeoutMs: 200 });
    const full = r.results.find((x) => x.check === 'full read')!;
    expect(full.verdict).toBe('fail');
    expect(full.reason).toBe('mem-never-yields: check "full read" did not finish within 200 ms (a call that never yields or never returns)');
    expect(verdicts(r, 'source').discover).toBe('pass');
    expect(failed(r)).toContain('source interruption and resume');
  });

  it('a write that never returns fails the writing checks with the connector and check named', async () => {
    const r = await runKit(plugin('never-yields'), fixture, { timeoutMs: 200 });
    const write = r.results.find((x) => x.kind === 'destination' && x.check === 'write')!;
    expect(write).toMatchObject({ verdict: 'fail', reason: 'mem-never-yields-out: check "write" did not finish within 200 ms (a call that never yields or never returns)' });
    expect(verdicts(r, 'destination').check).toBe('pass');
  });

  it('a plugin that throws on load is refused with its file and the error', async () => {
    await expect(runKit(plugin('throws-on-load'), fixture)).rejects.toThrow(/plugin .*throws-on-load: failed to load: vendor SDK missing/);
  });

  it('a destination that calls a transient failure permanent fails the retryable check, naming the item', async () => {
    const r = await runKit(plugin('bad-retry'), fixture, { timeoutMs: 5000 });
    expect(failed(r)).toEqual(['destination retryable vs permanent errors']);
    expect(r.results.find((x) => x.check === 'retryable vs permanent errors')!.reason).toBe(
      `under the fixture's transient failure, item r0 came back {"status":"permanent","reason":"503 Service Unavailable"}, expected retryable`,
    );
  });

  it('the report has one line per check with the reason for each failure', async () => {
    const text = formatKitReport(await runKit(plugin('bad-retry'), fixture, { timeoutMs: 5000 }));
    expect(text).toMatch(/^ {2}FAIL {2}destination mem-bad-retry-out: retryable vs permanent errors: under the fixture's transient failure/m);
    expect(text).toMatch(/^ {2}PASS {2}source mem-bad-retry: interruption and resume$/m);
    expect(text.trim().split('\n').at(-1)).toBe('17 passed, 1 failed, 0 not exercised by the fixture');
  });

  it('a fixture without the optional sections reports those checks as not exercised, not passed', async () => {
    const bare = { ...fixture, destination: { ...fixture.destination!, retryable: undefined, rateLimited: undefined, permanentItem: undefined } };
    const r = await runKit(plugin('good'), bare, { timeoutMs: 5000 });
    expect(verdicts(r, 'destination')['retryable vs permanent errors']).toBe('not-exercised');
    expect(verdicts(r, 'destination')['rate-limit response honoured']).toBe('not-exercised');
    expect(r.passed).toBe(true);
  });

  it('names an unknown connector in the fixture with what the plugin has', async () => {
    await expect(runKit(plugin('good'), { ...fixture, source: { ...fixture.source!, connector: 'nope' } })).rejects.toThrow(
      /has no source connector "nope" \(it has: mem-good\)/,
    );
  });
});

describe('kit fixtures', () => {
  it('read ${NAME} from the environment, and refuse an unset one by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-env-'));
    try {
      const file = join(dir, 'kit.yaml');
      writeFileSync(file, 'source:\n  config: { url: "${KIT_URL}/v1", rows: 2 }\n  stream: { name: people }\n  expectedCount: 2\n  farFutureState: {}\n');
      expect(loadKitFixture(file, { KIT_URL: 'http://127.0.0.1:9' }).source?.config).toEqual({ url: 'http://127.0.0.1:9/v1', rows: 2 });
      expect(() => loadKitFixture(file, {})).toThrow('kit fixture: environment variable KIT_URL is not set');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
