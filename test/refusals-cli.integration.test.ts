import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

// Issue 11, cause 3: refusals were invisible (`warnings: 0`, nothing in the log).
// Through the built CLI (run `npm run build` first): sync --json counts them per
// stream, the log has one summary line with a sample, `profiles refusals` lists them.

const CLI = join(process.cwd(), 'dist', 'core', 'cli', 'main.js');
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, env: { ...process.env, TRIBUTARY_CONFIG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A household: Ann and Bob share a landline, each has an email of their own; a third record uses a placeholder email. */
function project(): { root: string; config: string } {
  const root = mkdtempSync(join(tmpdir(), `trib-i11-refusals-${process.pid}-`));
  made.push(root);
  mkdirSync(join(root, 'data'));
  writeFileSync(
    join(root, 'data', 'people.csv'),
    ['id,email,phone,first,last', '1,ann.lee@mail.fr,+33145678901,Ann,Lee', '2,bob.lee@mail.fr,+33145678901,Bob,Lee', '3,ann.lee@mail.fr,+33145678901,Ann,Lee', ''].join('\n'),
  );
  const config = join(root, 'tributary.yaml');
  writeFileSync(
    config,
    stringify({
      store: { sqlite: './t.db' },
      sources: [
        {
          name: 'crm',
          connector: 'csv',
          streams: [
            {
              name: 'people',
              primaryKey: 'id',
              config: { path: './data/people.csv' },
              mapping: { identifiers: { email: 'email', phone: 'phone' }, traits: { firstName: 'first', lastName: 'last' } },
            },
          ],
        },
      ],
    }),
  );
  return { root, config };
}

describe('refusals are visible (issue 11 item 1, cause 3)', () => {
  it('sync --json counts them per stream and logs one summary line; profiles refusals lists them', () => {
    const { root, config } = project();
    const s = cli(['sync', '--config', config, '--json', '--no-deliver'], root);
    expect(s.code, s.err).toBe(0);
    const out = JSON.parse(s.out);
    expect(out.runs[0].summary.streams.people.refused).toBe(1);
    expect(out.profiles).toBe(2);
    const lines = s.err.split('\n').filter((l) => l.includes('identifier links refused'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('crm/people/2');
    expect(lines[0]).toContain('name guard');
    // The sample names the identifier's type, never its value.
    expect(lines[0]).not.toContain('+33145678901');

    const j = cli(['profiles', 'refusals', '--config', config, '--json'], root);
    expect(j.code, j.err).toBe(0);
    const listed = JSON.parse(j.out);
    expect(listed.total).toBe(1);
    expect(listed.refusals).toEqual([
      expect.objectContaining({ recordKey: 'crm/people/2', identifier: 'phone=+33145678901', reason: 'name guard: given names "bob" and "ann" differ' }),
    ]);
    expect(listed.refusals[0].profileId).not.toBe(listed.refusals[0].profiles[0]);

    const text = cli(['profiles', 'refusals', '--config', config, '--limit', '5'], root);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^1 refused link\n/);
    expect(text.out).toContain('crm/people/2 -> in ');

    const bad = cli(['profiles', 'refusals', '--config', config, '--limit', '0'], root);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('--limit: expected a whole number of at least 1, got "0"');
  });
});
