import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from './loader.js';

// docs/writing-a-connector.md cannot rot: its ```ts blocks are written to the files
// their first line names, type-checked against tributary/plugin, the tests they
// contain are run, and its ```yaml config syncs through the connector against a
// local fake of the API the walkthrough describes.

const DOC = join(PROJECT_ROOT, 'docs', 'writing-a-connector.md');
const TSC = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const CLI = join(PROJECT_ROOT, 'dist', 'core', 'cli', 'main.js');

interface Block { lang: string; file: string; body: string }

export function docBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  for (const m of markdown.matchAll(/^```(ts|yaml)\n([\s\S]*?)^```$/gm)) {
    const first = m[2].split('\n', 1)[0];
    const file = /^(?:\/\/|#)\s*([\w./-]+\.(?:ts|yaml))$/.exec(first)?.[1];
    if (!file) throw new Error(`a \`\`\`${m[1]} block in ${DOC} does not start with a comment naming its file: ${first}`);
    out.push({ lang: m[1], file, body: m[2] });
  }
  return out;
}

/** Asynchronous on purpose: the fake API below lives in this process and must keep answering. */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, TRIBUTARY_CONFIG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** The API the walkthrough describes: header page tokens, a second call per contact, a 429 now and then, 401 for a wrong key. */
const people: Array<Record<string, string>> = [
  { id: 'c1', email: 'ann@example.com', first_name: 'Ann', last_name: 'Lee', updated_at: '2026-01-01T10:00:00Z' },
  { id: 'c2', first_name: 'No', last_name: 'Email', updated_at: '2026-01-02T10:00:00Z' },
  { id: 'c3', email: 'bob@example.com', first_name: 'Bob', last_name: 'Roe', updated_at: '2026-01-03T10:00:00Z' },
];
let requests = 0;
let throttled = 0;
const server: Server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://acme');
  if (req.headers.authorization !== 'Bearer s3cret-acme-key') return res.writeHead(401).end();
  if (++requests % 4 === 0) {
    throttled++;
    return res.writeHead(429, { 'retry-after': '0' }).end();
  }
  const one = /^\/v1\/contacts\/(.+)$/.exec(url.pathname);
  if (one) return res.end(JSON.stringify(people.find((p) => p.id === one[1])));
  const since = url.searchParams.get('updated_since') ?? '';
  const limit = Number(url.searchParams.get('limit') ?? 50);
  const offset = Number(url.searchParams.get('page_token') ?? 0);
  const all = people.filter((p) => p.updated_at >= since);
  if (offset + limit < all.length) res.setHeader('x-next-page-token', String(offset + limit));
  res.end(JSON.stringify({ contacts: all.slice(offset, offset + limit).map((p) => ({ id: p.id, updated_at: p.updated_at })) }));
});

let dir: string;
let acmeUrl: string;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  acmeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = mkdtempSync(join(tmpdir(), 'trib-doc-connector-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-acme-plugin', private: true, type: 'module', dependencies: { tributary: `file:${PROJECT_ROOT}` } }));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(PROJECT_ROOT, join(dir, 'node_modules', 'tributary'), 'dir');
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, outDir: 'dist', rootDir: '.', skipLibCheck: true, typeRoots: [join(PROJECT_ROOT, 'node_modules', '@types')], types: ['node'] },
    include: ['acme-contacts/**/*.ts'],
  }));
  for (const b of docBlocks(readFileSync(DOC, 'utf8'))) {
    const f = join(dir, b.file);
    mkdirSync(dirname(f), { recursive: true });
    appendFileSync(f, b.body);
  }
});
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('docs/writing-a-connector.md', () => {
  it('names a file for every code block and holds the connector, its tests and the YAML', () => {
    const files = [...new Set(docBlocks(readFileSync(DOC, 'utf8')).map((b) => b.file))].sort();
    expect(files).toEqual(['acme-contacts/client.ts', 'acme-contacts/config.ts', 'acme-contacts/index.ts', 'acme-contacts/kit.yaml', 'acme-contacts/source.test.ts', 'acme-contacts/source.ts', 'tributary.yaml']);
  });

  it('its TypeScript compiles against tributary/plugin with strict on', async () => {
    const r = await run(process.execPath, [TSC, '-p', dir], dir);
    expect(r.out + r.err).toBe('');
    expect(existsSync(join(dir, 'dist', 'acme-contacts', 'index.js'))).toBe(true);
  });

  it('its tests pass, as the walkthrough says to run them', async () => {
    const r = await run(process.execPath, ['--test', 'dist/acme-contacts/'], dir);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/# pass 4\n# fail 0/);
  });

  it('`tributary test connector` passes on it and prints what the walkthrough says it prints', async () => {
    const doc = readFileSync(DOC, 'utf8');
    const command = /^```sh\n(npx tributary test connector .*)\n```\n\n```text\n([\s\S]*?)^```$/m.exec(doc);
    expect(command, 'the walkthrough shows the test connector command followed by its output').not.toBeNull();
    const args = command![1].split(' ').slice(2);
    const r = await run(process.execPath, [CLI, ...args], dir, { ACME_URL: acmeUrl, ACME_API_KEY: 's3cret-acme-key' });
    expect(r.err).toBe('');
    // The one line that depends on where the project lives: the doc shows /home/you/acme.
    expect(r.out.replace(dir, '/home/you/acme')).toBe(command![2]);
    expect(r.code).toBe(0);
  });

  it('its YAML syncs through the connector: every page, the second call, a 429 waited out; the next run reads only from the checkpoint', async () => {
    const env = { ACME_URL: acmeUrl, ACME_API_KEY: 's3cret-acme-key' };
    const first = await run(process.execPath, [CLI, 'sync', '--config', 'tributary.yaml', '--json', '--no-deliver'], dir, env);
    expect(first.code, first.err + first.out).toBe(0);
    expect(JSON.parse(first.out).runs[0].summary.streams.contacts).toMatchObject({ read: 3, written: 2, deadLettered: 1 });
    expect(throttled).toBeGreaterThan(0);

    people.push({ id: 'c4', email: 'dan@example.com', first_name: 'Dan', last_name: 'Fox', updated_at: '2026-01-04T10:00:00Z' });
    const next = await run(process.execPath, [CLI, 'sync', '--config', 'tributary.yaml', '--json', '--no-deliver'], dir, env);
    expect(next.code, next.err).toBe(0);
    // c3 again (the tie at the checkpoint, stored idempotently) and the new c4; c1 and c2 are not read again.
    expect(JSON.parse(next.out).runs[0].summary.streams.contacts).toMatchObject({ read: 2, written: 2 });
    expect(JSON.parse(next.out).profiles).toBe(3);
  });

  it('a wrong key fails the run in one line that does not contain the key', async () => {
    const r = await run(process.execPath, [CLI, 'sync', '--config', 'tributary.yaml', '--json', '--no-deliver'], dir, { ACME_URL: acmeUrl, ACME_API_KEY: 'wrong-key-123' });
    expect(r.code).not.toBe(0);
    expect(r.out + r.err).toMatch(/rejected the API key \(HTTP 401\); check apiKey/);
    expect(r.out + r.err).not.toContain('wrong-key-123');
  });
});
