import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startBrevoServer, type BrevoServer } from '../../connectors/brevo/__fixtures__/brevo-server.js';
import { server as pgServer } from '../../connectors/postgres/__fixtures__/seed.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/core/cli/main.js');
/** This run's own PostgreSQL database: other engineers test on the same server right now. */
const DATABASE = `tributary_forget_${process.pid}_${randomBytes(3).toString('hex')}`;

const ADA = { id: 'c-ada', email: 'Ada.Lovelace@Babbage.co.uk', phone: '+44 20 7946 0958', first: 'Ada' };
/** Every form the person's data takes in the store: normalized and as the source wrote it. */
const ADA_FORMS = ['ada.lovelace@babbage.co.uk', 'Ada.Lovelace@Babbage.co.uk', '+442079460958', '+44 20 7946 0958'];

type Person = { id: string; email: string; phone: string; first: string };
const others = (n: number): Person[] => Array.from({ length: n }, (_, i) => ({ id: `c-${i}`, email: `member${i}@river-mail.net`, phone: '', first: `M${i}` }));

let dir = '';
let brevo: BrevoServer | undefined;
let admin: pg.Client;

async function pgClient(database: string): Promise<pg.Client> {
  const c = new pg.Client({ ...pgServer, database });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

beforeAll(async () => {
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  const root = await pgClient(process.env.PGDATABASE_TEST ?? 'test');
  await root.query(`CREATE DATABASE ${DATABASE} ENCODING 'UTF8' TEMPLATE template0`);
  await root.end();
  admin = await pgClient(DATABASE);
});
afterAll(async () => {
  await admin?.end();
  const root = await pgClient(process.env.PGDATABASE_TEST ?? 'test');
  await root.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await root.end();
});
afterEach(async () => {
  await brevo?.close();
  brevo = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function writeCsv(rows: Person[]) {
  writeFileSync(join(dir, 'people.csv'), ['id,email,phone,first,updated_at', ...rows.map((r) => `${r.id},${r.email},${r.phone},${r.first},2026-01-01T00:00:00Z`)].join('\n') + '\n');
}

function setup(rows: Person[], opts: { table: string; brevoRetry?: number; batchSize?: number }): string {
  dir = mkdtempSync(join(tmpdir(), `trib-forget-${process.pid}-`));
  writeCsv(rows);
  const retry = { attempts: opts.brevoRetry ?? 3, initialDelayMs: 20, maxDelayMs: 200 };
  const cfg = {
    store: { sqlite: join(dir, 'store.db') },
    normalize: { defaultRegion: 'GB' },
    sources: [
      {
        name: 'crm',
        connector: 'csv',
        ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
        streams: [{ name: 'customers', mode: 'full_refresh', primaryKey: 'id', config: { path: join(dir, 'people.csv') }, mapping: { identifiers: { email: 'email', phone: 'phone' }, traits: { firstName: 'first' }, observedAt: 'updated_at' } }],
      },
    ],
    resolution: { nameGuard: false },
    destinations: [
      { name: 'brevo', connector: 'brevo', trigger: 'after-sync', config: { apiKey: '${BREVO_KEY}', baseUrl: brevo!.url, timeoutMs: 5000 }, mapping: { FIRSTNAME: 'traits.firstName' }, retry },
      { name: 'warehouse', connector: 'postgres', trigger: 'after-sync', config: { host: pgServer.host, port: pgServer.port, user: pgServer.user, ...(pgServer.password ? { password: '${PG_PASSWORD}' } : {}), database: DATABASE, table: opts.table, createTable: true } },
    ],
  };
  const file = join(dir, 'tributary.yaml');
  writeFileSync(file, stringify(cfg));
  return file;
}

const env = () => ({ ...process.env, BREVO_KEY: brevo!.apiKey, PG_PASSWORD: pgServer.password, TRIBUTARY_CONFIG: '' });

/** Run the built CLI without blocking this process: the Brevo contract server answers from its event loop. */
function cli(file: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const child = spawn('node', [CLI, '--config', file, ...args], { cwd: dir, env: env() });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => res({ code, out, err }));
  });
}

function storeBytes(): string {
  const db = join(dir, 'store.db');
  return ['', '-wal', '-shm'].map((ext) => (existsSync(db + ext) ? readFileSync(db + ext).toString('latin1') : '')).join('\n');
}

async function rowKeys(table: string): Promise<string[]> {
  return (await admin.query<{ id: string }>(`SELECT id FROM public."${table}" ORDER BY id`)).rows.map((r) => r.id);
}

describe('tributary forget, end to end (Brevo contract server and PostgreSQL)', () => {
  it('deletes the person in the store and at both destinations, keeps no byte of them, and a re-sync does not bring them back', async () => {
    brevo = await startBrevoServer({ rateLimit: false });
    const file = setup([...others(3), ADA], { table: 'contacts_e2e' });
    const first = await cli(file, 'sync', '--json');
    expect(first.code, first.err).toBe(0);
    expect(brevo.contactByEmail('ada.lovelace@babbage.co.uk')).toBeDefined();
    const profile = JSON.parse((await cli(file, 'profiles', 'get', 'ada.lovelace@babbage.co.uk')).out) as { id: string };
    expect(await rowKeys('contacts_e2e')).toContain(profile.id);
    for (const form of ADA_FORMS.slice(0, 3)) expect(storeBytes()).toContain(form);

    const f = await cli(file, 'forget', '--email', 'ADA.LOVELACE@babbage.co.uk', '--reason', 'ticket 4411', '--json');
    expect(f.code, f.err).toBe(0);
    const request = JSON.parse(f.out);
    expect(request).toMatchObject({ kind: 'forget', outcome: 'completed', walTruncated: true, counts: { profiles: 1, records: 1, identifiers: 2 } });
    expect(request.destinations.map((d: { destination: string; status: string }) => `${d.destination}:${d.status}`).sort()).toEqual(['brevo:done', 'warehouse:done']);
    // Brevo got the delete its API documents, addressed by the contact's email.
    expect(brevo.requests.some((r) => r.method === 'DELETE' && decodeURIComponent(r.path) === '/v3/contacts/ada.lovelace@babbage.co.uk' && r.status === 204)).toBe(true);
    expect(brevo.contactByEmail('ada.lovelace@babbage.co.uk')).toBeUndefined();
    // Without mirror the warehouse keeps deleted profiles' rows; a forget's row goes anyway.
    expect(await rowKeys('contacts_e2e')).not.toContain(profile.id);
    expect(await rowKeys('contacts_e2e')).toHaveLength(3);
    const bytes = storeBytes();
    for (const form of ADA_FORMS) expect(bytes, `the store files still hold ${form}`).not.toContain(form);

    const again = await cli(file, 'sync', '--json');
    expect(again.code, again.err).toBe(0);
    const outcome = JSON.parse(again.out);
    expect(JSON.stringify(outcome)).toMatch(/"suppressed": ?1/);
    expect(brevo.contactByEmail('ada.lovelace@babbage.co.uk')).toBeUndefined();
    expect(brevo.contacts()).toHaveLength(3);
    expect(await rowKeys('contacts_e2e')).toHaveLength(3);
    expect((await cli(file, 'profiles', 'get', 'ada.lovelace@babbage.co.uk')).code).toBe(1);
    for (const form of ADA_FORMS) expect(storeBytes()).not.toContain(form);

    const status = await cli(file, 'forget', '--status');
    expect(status.out).toContain(`#${request.id} forget`);
    expect(status.out).toContain('completed (reason: ticket 4411)');
    expect(status.out).not.toMatch(/lovelace|7946/i);
  });

  it('a delete a destination keeps failing stays pending and is retried by later delivery runs until it succeeds', async () => {
    brevo = await startBrevoServer({ rateLimit: false });
    const file = setup([...others(2), ADA], { table: 'contacts_retry', brevoRetry: 2 });
    expect((await cli(file, 'sync')).code).toBe(0);
    brevo.failNext('500', { count: 4, path: /^\/v3\/contacts\/[^/]+$/ });
    const f = await cli(file, 'forget', '--email', ADA.email, '--json');
    expect(f.code, f.err).toBe(0);
    const req = JSON.parse(f.out);
    expect(req.outcome).toBe('pending');
    expect(req.destinations.find((d: { destination: string }) => d.destination === 'brevo')).toMatchObject({ status: 'pending', attempts: 1 });
    expect(brevo.contactByEmail('ada.lovelace@babbage.co.uk')).toBeDefined();
    // The ref kept for the retry is the one copy left; the error kept with it names no one.
    expect(JSON.stringify(req)).not.toMatch(/lovelace/i);

    const second = await cli(file, 'deliver', 'brevo');
    expect(second.code).not.toBe(0);
    expect(brevo.contactByEmail('ada.lovelace@babbage.co.uk')).toBeDefined();
    const third = await cli(file, 'deliver', 'brevo');
    expect(third.code, third.err + third.out).toBe(0);
    expect(brevo.contactByEmail('ada.lovelace@babbage.co.uk')).toBeUndefined();
    const status = JSON.parse((await cli(file, 'forget', '--status', '--id', String(req.id), '--json')).out);
    expect(status[0]).toMatchObject({ outcome: 'completed', destinations: [{ destination: 'brevo', status: 'done', attempts: 3 }, { destination: 'warehouse', status: 'done' }] });
    for (const form of ADA_FORMS) expect(storeBytes()).not.toContain(form);
  });

  it('bad input: several profiles are listed and nothing is deleted without --all; nothing held exits 0 and still suppresses; a value that is not an email is one clear error', async () => {
    brevo = await startBrevoServer({ rateLimit: false });
    const people = others(2).map((p, i) => (i === 1 ? { ...p, phone: '+44 20 7946 0000' } : p));
    const file = setup(people, { table: 'contacts_bad' });
    expect((await cli(file, 'sync')).code).toBe(0);
    // An email of one person and a phone of another: both listed, nothing deleted until --all or --profile.
    const two = await cli(file, 'forget', '--email', 'member0@river-mail.net', '--phone', '+44 20 7946 0000');
    expect(two.code).toBe(1);
    expect(two.err).toMatch(/these identifiers match 2 profiles: prof_\S+, prof_\S+\n.*--profile <id> \(one\) or --all/);
    expect((await cli(file, 'profiles', 'get', 'member0@river-mail.net')).code).toBe(0);
    const all = JSON.parse((await cli(file, 'forget', '--email', 'member0@river-mail.net', '--phone', '+44 20 7946 0000', '--all', '--json')).out);
    expect(all.counts.profiles).toBe(2);
    writeCsv(others(2));
    const none = await cli(file, 'forget', '--email', 'nobody@river-mail.net');
    expect(none.code).toBe(0);
    expect(none.out).toMatch(/nothing held about this person; suppressed 1 identifier/);
    const bad = await cli(file, 'forget', '--email', 'not an email');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/^error: --email: not an email address/m);
    writeCsv([...others(2), { id: 'c-new', email: 'nobody@river-mail.net', phone: '', first: 'N' }]);
    // member0 and member1 (forgotten with --all) and nobody (suppressed though nothing was held) are all dropped.
    expect(JSON.stringify(JSON.parse((await cli(file, 'sync', '--json')).out))).toMatch(/"suppressed": ?3/);
    expect((await cli(file, 'unsuppress', '--email', 'Nobody@river-mail.net')).out).toMatch(/removed 1 identifier/);
    expect((await cli(file, 'sync')).code).toBe(0);
    expect((await cli(file, 'profiles', 'get', 'nobody@river-mail.net')).code).toBe(0);
  });

  it('a forget while a sync runs in another process waits for the write lock and is not lost', async () => {
    brevo = await startBrevoServer({ rateLimit: false });
    const many = others(20_000);
    const file = setup([ADA, ...many], { table: 'contacts_race', batchSize: 200 });
    expect((await cli(file, 'sync', '--no-deliver')).code).toBe(0);
    // Ada again, last in a long file: the sync reaches her row after the forget has committed.
    writeCsv([...many, ADA]);
    // The sync blocks 3 s after its 2nd batch (a slow batch, deterministically): the forget below starts and commits
    // before the sync can reach Ada's row, however fast the machine reads the other 20,000.
    const sync = spawn('node', [CLI, '--config', file, 'sync', '--json', '--no-deliver'], { cwd: dir, env: { ...env(), TRIBUTARY_FAULT: 'batch.after-commit:pause=3000@2' } });
    let out = '';
    sync.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((res) => sync.on('close', res));
    const db = new Database(join(dir, 'store.db'), { readonly: true });
    try {
      // Forget once the second sync has committed a batch (its run row shows counts).
      for (let i = 0; i < 600; i++) {
        const row = db.prepare("SELECT summary FROM runs WHERE status = 'running' ORDER BY id DESC LIMIT 1").get() as { summary: string | null } | undefined;
        if (row?.summary && /"written":[1-9]/.test(row.summary)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      db.close();
    }
    const f = await cli(file, 'forget', '--email', ADA.email, '--no-deliver', '--json');
    expect(f.code, f.err).toBe(0);
    expect(JSON.parse(f.out).counts.profiles).toBe(1);
    expect(await done).toBe(0);
    expect(out).toMatch(/"suppressed": ?1/);
    expect((await cli(file, 'profiles', 'get', 'ada.lovelace@babbage.co.uk')).code).toBe(1);
  }, 180_000);
});
