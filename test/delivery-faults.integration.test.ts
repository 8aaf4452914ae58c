import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { boot } from '../core/container.js';
import { startBrevoServer, type BrevoServer } from '../connectors/brevo/__fixtures__/brevo-server.js';
import { captureLogger } from './kit/context.js';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/core/cli/main.js');

let server: BrevoServer | undefined;
let dir = '';
afterEach(async () => {
  await server?.close();
  server = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeAll(() => {
  // The crash test runs the built CLI: build it from this source first.
  const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stdout + r.stderr).toBe(0);
});

type Person = { id: string; email: string; first: string; updated_at: string };
const people = (n: number, version: number): Person[] =>
  Array.from({ length: n }, (_, i) => ({ id: String(i), email: `p${i}@fault-mail.net`, first: `P${i}v${version}`, updated_at: `2026-01-0${version}T00:00:${String(i % 60).padStart(2, '0')}Z` }));

function writeCsv(rows: Person[]) {
  writeFileSync(join(dir, 'people.csv'), ['id,email,first,updated_at', ...rows.map((r) => `${r.id},${r.email},${r.first},${r.updated_at}`)].join('\n') + '\n');
}

function writeConfig(rows: Person[], brevo: Record<string, unknown>, dest: Record<string, unknown> = {}) {
  dir = mkdtempSync(join(tmpdir(), `trib-dfault-${process.pid}-`));
  const file = join(dir, 'tributary.yaml');
  writeCsv(rows);
  const cfg = {
    store: { sqlite: join(dir, 'store.db') },
    sources: [{ name: 'crm', connector: 'csv', streams: [{ name: 'customers', mode: 'full_refresh', primaryKey: 'id', config: { path: join(dir, 'people.csv') }, mapping: { identifiers: { email: 'email' }, traits: { firstName: 'first' }, observedAt: 'updated_at' } }] }],
    resolution: { nameGuard: false },
    destinations: [{ name: 'brevo', connector: 'brevo', trigger: 'manual', config: brevo, mapping: { FIRSTNAME: 'traits.firstName' }, retry: { attempts: 12, initialDelayMs: 50, maxDelayMs: 2000 }, ...dest }],
  };
  writeFileSync(file, stringify(cfg));
  return file;
}

/** Contacts by email with their FIRSTNAME, failing on duplicates. */
function contacts(s: BrevoServer): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const c of s.contacts()) {
    expect(out.has(c.email!), `contact ${c.email} held twice`).toBe(false);
    out.set(c.email!, c.attributes.FIRSTNAME);
  }
  return out;
}

describe('delivery under faults (Brevo contract server)', () => {
  it('20% of requests fail with 429, 500, a hang or a dropped connection: every profile arrives once with its latest values', async () => {
    server = await startBrevoServer({ rateLimit: false, faults: { seed: 7, rate: 0.2, kinds: ['429', '500', 'hang', 'drop'] } });
    const brevo = { apiKey: server.apiKey, baseUrl: server.url, listIds: [1], importThreshold: 1000, timeoutMs: 400 };
    const v1 = people(120, 1);
    const file = writeConfig(v1, brevo, { batchSize: 50 });
    let b = await boot({ configFile: file, logger: captureLogger() });
    await b.engine.runSync('crm', { deliverAfter: false });
    const first = await b.engine.deliverTo('brevo');
    await b.close();
    // Change a third of them and deliver again through the same faults.
    const v2 = v1.map((r, i) => (i % 3 ? r : { ...r, first: `P${i}v2`, updated_at: '2026-01-05T00:00:00Z' }));
    writeCsv(v2);
    b = await boot({ configFile: file, logger: captureLogger() });
    await b.engine.runSync('crm', { deliverAfter: false });
    const second = await b.engine.deliverTo('brevo');
    const held = contacts(server);
    expect(held.size).toBe(120);
    for (const r of v2) expect(held.get(r.email)).toBe(r.first);
    const faults = server.requests.filter((r) => r.fault);
    expect(new Set(faults.map((r) => r.fault)).size).toBe(4);
    expect(faults.length).toBeGreaterThan(20);
    expect(first.retried + second.retried).toBeGreaterThan(0);
    expect(await b.store.listDeadLetters({ limit: 10, sync: 'brevo' })).toEqual([]);
    expect(await b.store.delivery.backlog('brevo')).toBe(0);
    // A run after nothing changed sends nothing.
    const before = server.requests.length;
    await b.engine.runSync('crm', { deliverAfter: false });
    expect(await b.engine.deliverTo('brevo')).toMatchObject({ delivered: 0, requests: 0 });
    expect(server.requests.length).toBe(before);
    await b.close();
  });

  it('a delivery SIGKILLed after a write, before it was settled: the rerun loses nothing and resends at most that batch', async () => {
    server = await startBrevoServer({ rateLimit: false });
    const brevo = { apiKey: '${BREVO_KEY}', baseUrl: server.url, listIds: [1], importThreshold: 1000, timeoutMs: 2000 };
    process.env.BREVO_KEY = server.apiKey;
    const rows = people(60, 1);
    const file = writeConfig(rows, brevo, { batchSize: 10 });
    // The contract server lives in this process: the children must run asynchronously, or nobody answers them.
    const run = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, [CLI, '--config', file, ...args], { env: { ...process.env, ...env } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (status, signal) => done({ status, signal, stdout, stderr }));
      });
    const sync = await run(['sync', '--no-deliver']);
    expect(sync.status, sync.stderr).toBe(0);
    const killed = await run(['deliver', 'brevo'], { TRIBUTARY_DELIVERY_FAULT: 'after-write:3' });
    expect(killed.signal, killed.stderr + killed.stdout).toBe('SIGKILL');
    expect(contacts(server).size).toBe(30);
    const again = await run(['deliver', 'brevo', '--json']);
    expect(again.status, again.stderr).toBe(0);
    const counts = JSON.parse(again.stdout);
    expect(counts).toMatchObject({ ok: true, delivered: 40, failed: 0 });
    expect(contacts(server).size).toBe(60);
    const upserts = server.requests.filter((r) => r.method === 'POST' && r.path === '/v3/contacts').length;
    // 60 needed; the killed run's third batch (10) was sent but not settled, so it went twice.
    expect(upserts).toBe(70);
  });
});
