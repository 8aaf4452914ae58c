import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

// Issue 8, item 17: `tributary run` says when each sync starts and ends, with
// its counts and the next scheduled time; --verbose adds debug lines.

const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');
let dir: string;

// Runs the built CLI: `npm test` builds first (pretest); after editing, `npm run build`.
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `trib-daemon-logs-${process.pid}-`));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tributary run logs', () => {
  it('logs schedule, start, end with counts and next run; --verbose adds batch and checkpoint lines', { timeout: 90_000 }, async () => {
    const lines = ['id,email,updated_at'];
    for (let i = 0; i < 10; i++) lines.push(`${i},p${i}@mail-box.net,2026-01-01`);
    lines.push('10,not-an-email,2026-01-01');
    writeFileSync(join(dir, 'people.csv'), `${lines.join('\n')}\n`);
    const file = join(dir, 'tributary.yaml');
    writeFileSync(
      file,
      stringify({
        store: { sqlite: join(dir, 'store.db') },
        sources: [
          {
            name: 'crm',
            connector: 'csv',
            schedule: '* * * * * *',
            streams: [{ name: 'people', primaryKey: 'id', config: { path: join(dir, 'people.csv') }, mapping: { identifiers: { email: 'email' } } }],
          },
        ],
        // The log line below counts the row without an email as dead-lettered (the default keeps it as a profile, issue 11).
        resolution: { unidentified: 'dead-letter' },
      }),
    );
    const child = spawn(process.execPath, [CLI, '--verbose', 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/sync crm done[^\n]*\n[\s\S]*sync crm done/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const iso = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';
    expect(stderr).toMatch(new RegExp(`^info  scheduled sync crm cron=\\* \\* \\* \\* \\* \\* next=${iso}$`, 'm'));
    expect(stderr).toMatch(/^info {2}sync crm started$/m);
    expect(stderr).toMatch(
      new RegExp(`^info  sync crm done in \\d+\\.\\ds \\(run #1\\): read 11, written 10, dead-lettered 1; profiles \\+10 ~0 merged 0; next run at ${iso}$`, 'm'),
    );
    // The second run resumes from the checkpoint and says it read nothing new.
    expect(stderr).toMatch(/^info {2}sync crm done in [\d.]+s \(run #2\): read 0, written 0, dead-lettered 0; profiles \+0 ~0 merged 0; next run at /m);
    expect(stderr).toMatch(/^debug batch committed sync=crm records=10 deadLetters=1 ms=\d+ read=11 written=10$/m);
    expect(stderr).toMatch(/^debug checkpoint saved sync=crm stream=people state=/m);
  });

  it('SIGTERM mid-sync: the run is logged as interrupted with its counts and the destinations it did not deliver', { timeout: 90_000 }, async () => {
    const lines = ['id,email,updated_at'];
    for (let i = 0; i < 40_000; i++) lines.push(`${i},p${i}@mail-box.net,2026-01-01`);
    writeFileSync(join(dir, 'many.csv'), `${lines.join('\n')}\n`);
    const file = join(dir, 'many.yaml');
    const db = join(dir, 'many.db');
    writeFileSync(
      file,
      stringify({
        store: { sqlite: db },
        sources: [
          {
            name: 'crm',
            connector: 'csv',
            schedule: '* * * * * *',
            batchSize: 500,
            config: { checkpointEvery: 500 },
            streams: [{ name: 'people', primaryKey: 'id', config: { path: join(dir, 'many.csv') }, mapping: { identifiers: { email: 'email' } } }],
          },
        ],
        destinations: [{ name: 'export', connector: 'file', config: { path: join(dir, 'export.jsonl'), format: 'jsonl' } }],
      }),
    );
    const child = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 60_000;
    while (!/sync crm started/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(
      /^warn {2}sync crm interrupted after [\d.]+s \(run #1\): read \d+, written \d+, dead-lettered 0; profiles \+\d+ ~0 merged 0; interrupted by SIGTERM; the next run resumes from the last committed checkpoint; not delivered: export \(they run after the next sync that completes\)$/m,
    );
    expect(stderr).not.toMatch(/sync crm done/);
  });
});
