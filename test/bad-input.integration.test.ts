import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';

// Bad input through the real CLI: one clear line, the right exit code, bad
// records in dead letters, and the rest of the data still synced.

const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function setup(csv: string, streamExtra: Record<string, unknown> = {}, sourceExtra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'trib-bad-'));
  writeFileSync(join(dir, 'people.csv'), csv);
  const file = join(dir, 'tributary.yaml');
  writeFileSync(
    file,
    stringify({
      store: { sqlite: join(dir, 'store.db') },
      sources: [
        {
          name: 'crm',
          connector: 'csv',
          ...sourceExtra,
          streams: [
            {
              name: 'people',
              primaryKey: 'id',
              config: { path: join(dir, 'people.csv') },
              mapping: { identifiers: { email: 'email' }, traits: { firstName: 'name' } },
              ...streamExtra,
            },
          ],
        },
      ],
    }),
  );
  return { dir, file };
}

describe('bad input through the CLI', () => {
  it('malformed CSV rows and records without identifiers go to dead letters; the sync goes on', () => {
    const { file } = setup('id,email,name\n1,a@x.com,Ann\n2,"broken,Bob\n3,c@x.com,Cleo\n4,not-an-email,Dan\n5,e@x.com\n6,f@x.com,Fay\n');
    // The default keeps a record with no usable identifier as a profile (issue 11); this test is about dead letters.
    writeFileSync(file, `${readFileSync(file, 'utf8')}resolution:\n  unidentified: dead-letter\n`);
    const r = cli(['sync', '--config', file, '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.runs[0].summary.streams.people).toMatchObject({ written: 3, deadLettered: 3 });
    const dl = cli(['dead-letters', 'list', '--config', file]);
    expect(dl.out).toMatch(/people\.csv:3: .*quote/i);
    expect(dl.out).toMatch(/record 4 .*no usable identifier: email not an email address/);
    expect(dl.out).toMatch(/people\.csv:6: expected 3 columns, got 2/);
    expect(cli(['profiles', 'get', 'f@x.com', '--config', file]).out).toContain('"firstName": "Fay"');
  });

  it('an unreadable file fails the sync with one line naming the stream and the file, exit 1 (also when the tests run as root)', () => {
    const { file, dir } = setup('id,email,name\n1,a@x.com,Ann\n');
    chmodSync(join(dir, 'people.csv'), 0o000);
    // chmod 000 does not stop root (CI runs as root): then the CLI runs as `nobody`, for whom it does.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      chmodSync(dir, 0o777);
      chmodSync(file, 0o644);
    }
    const r = spawnSync(process.execPath, [CLI, 'sync', '--config', file, '--json'], {
      encoding: 'utf8',
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { runs: Array<{ ok: boolean; error?: string }> };
    expect(out.runs).toHaveLength(1);
    expect(out.runs[0].ok).toBe(false);
    expect(out.runs[0].error).toMatch(/stream people: file .*people\.csv cannot be read \(EACCES\)/);
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /);
    // Nothing was half-read: no record, and the run is recorded as failed with the same reason.
    const store = new Database(join(dir, 'store.db'), { readonly: true });
    try {
      expect(store.prepare('SELECT COUNT(*) FROM records').pluck().get()).toBe(0);
      expect(store.prepare('SELECT COUNT(*) FROM state').pluck().get()).toBe(0);
      const runs = store.prepare('SELECT status, error FROM runs').all() as Array<{ status: string; error: string }>;
      expect(runs).toEqual([{ status: 'failed', error: expect.stringMatching(/people\.csv cannot be read \(EACCES\)/) }]);
    } finally {
      store.close();
    }
  });

  it('an unset ${ENV} fails fast with the file, line and YAML path, exit 2', () => {
    const { file } = setup('id,email,name\n', {}, { config: { path: '${TRIB_TEST_UNSET_DIR}' } });
    const r = cli(['sync', '--config', file], { TRIB_TEST_UNSET_DIR: '' });
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/^error: .*tributary\.yaml:\d+: sources\[0\]\.config\.path: environment variable TRIB_TEST_UNSET_DIR is not set$/);
  });

  it('an unknown connector names the YAML path and the known connectors', () => {
    const { file } = setup('id,email,name\n');
    writeFileSync(file, readConfigWithConnector(file, 'cvs'));
    const r = cli(['validate', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/^error: .*tributary\.yaml:\d+, sync crm: sources\[0\]\.connector: unknown source connector "cvs" \(known: .*csv/);
  });

  it('a secret never appears in logs or errors', () => {
    const { file } = setup('id,email,name\n1,a@x.com,Ann\n', {}, { connector: 'mysql', config: { host: '127.0.0.1', port: 1, user: 'u', password: '${TRIB_SECRET}', database: 'd' } });
    const r = cli(['validate', '--check', '--config', file, '--verbose'], { TRIB_SECRET: 'hunter2-very-secret' });
    expect(r.code).not.toBe(0);
    expect(r.out + r.err).not.toContain('hunter2-very-secret');
  });
});

function readConfigWithConnector(file: string, connector: string): string {
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  return readFileSync(file, 'utf8').replace('connector: csv', `connector: ${connector}`);
}

describe('bad input through the CLI: identifiers (issue 8 items 4 and 9)', () => {
  it('an unknown identifier type in a mapping fails validate at its line, with a did-you-mean, exit 2', () => {
    const { file } = setup('id,email,name\n', { mapping: { identifiers: { emial: 'email' } } });
    const r = cli(['validate', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(
      /^error: .*tributary\.yaml:\d+: sources\[0\]\.streams\[0\]\.mapping\.identifiers\.emial: unknown identifier type "emial"; did you mean "email"\?/,
    );
  });

  it('a record whose only identifier is blocked is a dead letter like one with an empty email; the rest syncs', () => {
    const { file } = setup('id,email,name\n1,a@x.com,Ann\n2,test@example.com,Bob\n3,,Cleo\n4,c@x.com,Dan\n');
    writeFileSync(file, `${readFileSync(file, 'utf8')}resolution:\n  unidentified: dead-letter\n`);
    const r = cli(['sync', '--config', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).runs[0].summary.streams.people).toMatchObject({ written: 2, deadLettered: 2 });
    const dl = cli(['dead-letters', 'list', '--config', file]);
    expect(dl.out).toMatch(/record 2 .*no usable identifier: email blocked value "test@example\.com"/);
    expect(dl.out).toMatch(/record 3 .*no usable identifier: email empty/);
  });

  it('resolve --show-rules prints the built-in and configured blocked values, --json too', () => {
    const { file, dir } = setup('id,email,name\n');
    writeFileSync(file, `${readFileSync(file, 'utf8')}resolution:\n  blocked: { email: { exact: [support@company.com] } }\n`);
    const text = cli(['resolve', '--show-rules', '--config', file]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/built-in patterns: .*mailinator/);
    expect(text.out).toContain('configured values: "support@company.com"');
    const json = JSON.parse(cli(['resolve', '--show-rules', '--json', '--config', file]).out);
    expect(json.blocked.email.configured.exact).toEqual(['support@company.com']);
    expect(json.blocked['*'].builtIn.exact).toContain('xxx');
    // No store is opened to print rules.
    expect(existsSync(join(dir, 'store.db'))).toBe(false);
  });
});
