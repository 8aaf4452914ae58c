import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

// Issue 8 items 10, 16, 19, 20 through the built CLI (run `npm run build` first):
// paths relative to the config, field warnings and dead letters one can read,
// exports that refuse a missing folder, profiles found by external id.

const ROOT = process.cwd();
const CLI = join(ROOT, 'dist', 'core', 'cli', 'main.js');
const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function temp(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `trib-i8-${tag}-${process.pid}-`));
  made.push(d);
  return d;
}

function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd, env: { ...process.env, TRIBUTARY_CONFIG: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const PEOPLE = [
  'crm_id,email,phone,name,ref',
  'CRM-000001,not-an-email,+14155552671,Ann,R1',
  'CRM-000002,bob@x.com,,Bob,R2',
  'CRM-000003,also bad,+14155552672,Cy,R3',
  'CRM-000004,,nope,Dan,R4',
  'CRM-000005,eve@x.com,12,Eve,R5',
].join('\n');

/** A project folder: config/tributary.yaml with only relative paths, data in config/data/. */
function project(): { root: string; config: string } {
  const root = temp('proj');
  mkdirSync(join(root, 'config', 'data'), { recursive: true });
  writeFileSync(join(root, 'config', 'data', 'people.csv'), `${PEOPLE}\n`);
  const config = join(root, 'config', 'tributary.yaml');
  writeFileSync(
    config,
    stringify({
      store: { sqlite: './.tributary/t.db' },
      sources: [
        {
          name: 'crm',
          connector: 'csv',
          streams: [
            {
              name: 'people',
              primaryKey: 'crm_id',
              config: { path: './data/people.csv' },
              mapping: { identifiers: { 'external_id.crm': 'crm_id', email: 'email', phone: 'phone' }, traits: { firstName: 'name' } },
            },
            {
              name: 'refs',
              primaryKey: 'ref',
              config: { path: './data/people.csv' },
              mapping: { identifiers: { external_id: 'ref' }, traits: { firstName: 'name' } },
            },
          ],
        },
      ],
      destinations: [{ name: 'snapshot', connector: 'file', config: { path: '../out/p.jsonl', format: 'jsonl' } }],
    }),
  );
  return { root, config };
}

describe('relative paths resolve against the config file (item 16)', () => {
  it('a sync run from another directory reads the data and writes the store next to the config, and says where', () => {
    const { root, config } = project();
    const elsewhere = temp('cwd');
    const r = cli(['sync', '--config', config], elsewhere);
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const db = join(root, 'config', '.tributary', 't.db');
    expect(existsSync(db)).toBe(true);
    expect(r.out).toContain(`store: ${db}`);
    expect(existsSync(join(root, 'out', 'p.jsonl'))).toBe(true);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('config/example.yaml works from /tmp and keeps its store in config/.tributary/', () => {
    const copy = temp('example');
    cpSync(join(ROOT, 'config'), join(copy, 'config'), { recursive: true, filter: (src) => !src.includes('.tributary') });
    const r = cli(['sync', '--config', join(copy, 'config', 'example.yaml'), '--json'], tmpdir());
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out);
    expect(summary.ok).toBe(true);
    expect(summary.store).toBe(join(copy, 'config', '.tributary', 'example.db'));
    expect(existsSync(summary.store)).toBe(true);
    expect(existsSync(join(copy, 'out', 'profiles.jsonl'))).toBe(true);
    expect(summary.profiles).toBeGreaterThan(0);
  });
});

describe('field warnings can be inspected (item 10)', () => {
  it('warnings list groups by field and reason with counts and examples; sync --json counts by reason', () => {
    const { config, root } = project();
    const s = cli(['sync', '--config', config, '--json', '--no-deliver'], root);
    expect(s.code).toBe(0);
    const people = JSON.parse(s.out).runs[0].summary.streams.people;
    expect(people.warningsByReason).toEqual({ 'not an email address': 2, 'not a phone number for region US': 1, 'too short for US: 2 digits, a US number has 10': 1 });
    expect(people.warnings).toBe(4);

    const j = cli(['warnings', 'list', '--config', config, '--json'], root);
    expect(j.code).toBe(0);
    const groups = JSON.parse(j.out);
    expect(groups).toEqual([
      {
        sync: 'crm',
        stream: 'people',
        field: 'email',
        reason: 'not an email address',
        count: 2,
        examples: [
          { recordId: 'CRM-000001', value: 'not-an-email' },
          { recordId: 'CRM-000003', value: 'also bad' },
        ],
      },
      { sync: 'crm', stream: 'people', field: 'phone', reason: 'not a phone number for region US', count: 1, examples: [{ recordId: 'CRM-000004', value: 'nope' }] },
      { sync: 'crm', stream: 'people', field: 'phone', reason: 'too short for US: 2 digits, a US number has 10', count: 1, examples: [{ recordId: 'CRM-000005', value: '12' }] },
    ]);

    const t = cli(['warnings', 'list', '--config', config, '--stream', 'people', '--limit', '1'], root);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/crm\/people {2}email: not an email address {2}2 records/);
    expect(t.out).toMatch(/record CRM-000001: "not-an-email"/);
    expect(t.out).not.toMatch(/phone/);
    expect(t.out).toMatch(/\(2 more groups; raise --limit\)/);

    expect(cli(['warnings', 'list', '--config', config, '--stream', 'refs'], root).out).toBe('no field warnings (sync any, stream refs)\n');
    const bad = cli(['warnings', 'list', '--config', config, '--sync', 'nosuch'], root);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no source named "nosuch" \(sources: crm\)/);
    expect(cli(['warnings', 'list', '--config', config, '--limit', 'abc'], root).err).toMatch(/--limit: expected a whole number of 1 or more, got "abc"/);
  });
});

describe('dead letters show their payloads (item 19)', () => {
  it('the text list shows a one-line payload, --full all of it, and an unknown --sync names the known ones', () => {
    const { config, root } = project();
    const long = 'x'.repeat(300);
    writeFileSync(join(root, 'config', 'data', 'people.csv'), `${PEOPLE}\n,,,${long},R9\n`);
    expect(cli(['sync', '--config', config, '--no-deliver'], root).code).toBe(0);
    const l = cli(['dead-letters', 'list', '--config', config, '--sync', 'crm'], root);
    expect(l.code).toBe(0);
    const payloadLine = l.out.split('\n').find((x) => x.includes('payload'))!;
    expect(payloadLine).toMatch(/^ {4}payload: \{"crm_id":"","email":"","phone":"","name":"x+…$/);
    expect(payloadLine.length).toBeLessThanOrEqual(124);
    const full = cli(['dead-letters', 'list', '--config', config, '--full'], root);
    expect(full.out).toContain(long);
    const bad = cli(['dead-letters', 'list', '--config', config, '--sync', 'nosuch'], root);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no source or destination named "nosuch" \(known: crm, snapshot\)/);
  });
});

describe('profiles (item 20)', () => {
  it('export refuses a missing folder and creates nothing; get finds a profile by namespace:value and external_id:value', () => {
    const { config, root } = project();
    expect(cli(['sync', '--config', config, '--no-deliver'], root).code).toBe(0);
    const missing = join(temp('out'), 'no-such-dir');
    const e = cli(['profiles', 'export', '--config', config, '--format', 'csv', '--out', join(missing, 'x.csv')], root);
    expect(e.code).not.toBe(0);
    expect(e.err).toMatch(/directory .*no-such-dir does not exist \(create it first\)/);
    expect(existsSync(missing)).toBe(false);

    const byNs = cli(['profiles', 'get', '--config', config, 'crm:CRM-000002'], root);
    expect(byNs.code).toBe(0);
    expect(JSON.parse(byNs.out).identifiers).toContainEqual({ type: 'email', value: 'bob@x.com' });
    const byBare = cli(['profiles', 'get', '--config', config, 'external_id:R5'], root);
    expect(byBare.code).toBe(0);
    expect(JSON.parse(byBare.out).traits.firstName).toBe('Eve');
    expect(cli(['profiles', 'get', '--config', config, 'crm:CRM-999999'], root).err).toMatch(/no profile matches "crm:CRM-999999"/);
  });
});
