import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfiguredStream, SourceMessage, StreamState } from '../../core/plugin/types.js';
import { captureLogger, testContext } from '../../test/kit/context.js';
import { collect, sourceConnectorKit } from '../../test/kit/source-kit.js';
import type { RemoteStreamConfig } from '../remote-files/config.js';
import { sftpConfigSchema, type SftpConfig } from './config.js';
import { sftpSource } from './source.js';
import { makeKeyPair, startSftpServer, type TestSftpServer } from './__fixtures__/sftp-server.js';

let server: TestSftpServer;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), `tributary-sftp-${process.pid}-${Math.random().toString(36).slice(2, 8)}-`));
  server = await startSftpServer(root);
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

let folders = 0;
/** A fresh folder under the served root, for one test. */
function folder(files: Record<string, string> = {}): string {
  const name = `t${++folders}`;
  mkdirSync(join(root, name));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(root, name, f), text);
  return name;
}

function config(over: Partial<Record<keyof SftpConfig, unknown>> = {}): SftpConfig {
  return sftpConfigSchema.parse({
    host: '127.0.0.1',
    port: server.port,
    username: server.username,
    password: server.password,
    hostKey: server.hostKey.fingerprint,
    ready: 'any',
    reconnectBaseMs: 10,
    ...over,
  });
}

const stream = (path: string, extra: Partial<RemoteStreamConfig> = {}): ConfiguredStream<RemoteStreamConfig> => ({
  name: 'drops',
  mode: 'incremental',
  primaryKey: ['id'],
  config: { path, ...extra } as RemoteStreamConfig,
});

async function run(cfg: SftpConfig, s: ConfiguredStream<RemoteStreamConfig>, state?: StreamState) {
  const ctx = testContext(cfg);
  const messages: SourceMessage[] = [];
  for await (const m of sftpSource.read(ctx, [s], { [s.name]: state })) messages.push(m);
  const states = messages.filter((m) => m.type === 'state');
  return {
    ids: messages.flatMap((m) => (m.type === 'record' ? [String(m.data.id)] : [])),
    records: messages.flatMap((m) => (m.type === 'record' ? [m] : [])),
    errors: messages.flatMap((m) => (m.type === 'error' ? [m] : [])),
    state: states.length ? states[states.length - 1].state : undefined,
    logs: (ctx.logger as ReturnType<typeof captureLogger>).entries,
    ctx,
  };
}

const csv = (ids: number[]) => `id,name\n${ids.map((i) => `${i},name ${i}`).join('\n')}\n`;

describe('sftp source kit', () => {
  let dir: string;
  sourceConnectorKit<SftpConfig, RemoteStreamConfig>({
    connector: sftpSource,
    async setup() {
      dir = folder({ 'a.csv': csv([1, 2, 3]) });
      return config({ path: dir });
    },
    stream: () => ({ name: 'a', mode: 'incremental', primaryKey: ['id'], config: { path: '*.csv' } as RemoteStreamConfig }),
    expectedInitialCount: 3,
    keyOf: (d) => String(d.id),
    async addNewer() {
      writeFileSync(join(root, dir, 'b.csv'), csv([4, 5]));
      return ['4', '5'];
    },
    farFutureState() {
      const files: Record<string, StreamState[string]> = {};
      for (const f of readdirSync(join(root, dir))) {
        const st = statSync(join(root, dir, f));
        files[`${dir}/${f}`] = { size: st.size, mtimeMs: Math.floor(st.mtimeMs / 1000) * 1000, rows: 0, line: 0, offset: st.size, skip: 0, done: true };
      }
      return { version: 1, kind: 'remote-files', files };
    },
    badConfigs: [
      { name: 'no credentials', config: { host: 'h', username: 'u', hostKey: `SHA256:${'A'.repeat(43)}` }, message: /password or privateKey/ },
      { name: 'host key not a fingerprint', config: { host: 'h', username: 'u', password: 'p', hostKey: 'abc' }, message: /fingerprint/ },
    ],
  });
});

describe('sftp check', () => {
  it('refuses a wrong password in one line without the secret', async () => {
    const res = await sftpSource.check(testContext(config({ password: 'wrong-secret-x' })));
    expect(res.ok).toBe(false);
    expect(res.message).toMatch(/authentication failed for user feed/);
    expect(res.message).not.toMatch(/wrong-secret-x/);
    expect(res.message).not.toContain('\n');
  });

  it('logs in with the private key, and refuses a key the server does not know', async () => {
    const ok = await sftpSource.check(testContext(config({ password: undefined, privateKey: server.userKey.privateKey })));
    expect(ok).toEqual({ ok: true });
    const other = makeKeyPair();
    const res = await sftpSource.check(testContext(config({ password: undefined, privateKey: other.privateKey })));
    expect(res.ok).toBe(false);
    expect(res.message).toMatch(/authentication failed/);
    expect(res.message).not.toContain('PRIVATE KEY');
    expect(res.message).not.toContain('\n');
  });

  it('refuses an unknown host key, naming the fingerprint seen', async () => {
    const pinned = makeKeyPair().fingerprint;
    const res = await sftpSource.check(testContext(config({ hostKey: pinned })));
    expect(res.ok).toBe(false);
    expect(res.message).toContain(`host key ${server.hostKey.fingerprint} is not the pinned one (hostKey: ${pinned})`);
    expect(res.message).not.toContain(server.password);
  });

  it('reports a missing directory', async () => {
    const res = await sftpSource.check(testContext(config({ path: 'no-such-dir' })));
    expect(res).toEqual({ ok: false, message: `remote directory sftp://127.0.0.1:${server.port}/no-such-dir does not exist` });
    await expect(run(config({ path: 'no-such-dir' }), stream('*.csv'))).rejects.toThrow(/does not exist/);
  });

  it('declares its credentials as secrets', () => {
    expect(sftpSource.spec.secrets).toEqual(['password', 'privateKey', 'passphrase']);
  });
});

describe('sftp read', () => {
  it('reads CSV and JSONL files matched by a glob, each once', async () => {
    const dir = folder({
      'a.csv': csv([1, 2]),
      'b.jsonl': '{"id":3,"vip":true}\n{"id":4,"n":1.5}\n',
      'skip.txt': 'not matched',
    });
    const cfg = config({ path: dir });
    const csvRun = await run(cfg, stream('*.csv'));
    expect(csvRun.ids).toEqual(['1', '2']);
    expect(csvRun.records[0].origin).toBe(`sftp://127.0.0.1:${server.port}/${dir}/a.csv:2`);
    const jsonl = await run(cfg, stream('*.jsonl'));
    expect(jsonl.records.map((r) => r.data)).toEqual([{ id: 3, vip: true }, { id: 4, n: 1.5 }]);
    const again = await run(cfg, stream('*.jsonl'), jsonl.state);
    expect(again.ids).toEqual([]);
    // The state names every file read, by size and mtime.
    const files = (again.state as { files: Record<string, { size: number; done: boolean }> }).files;
    expect(files[`${dir}/b.jsonl`]).toMatchObject({ size: 37, done: true });
  });

  it('full refresh reads every file again whatever the state', async () => {
    const dir = folder({ 'a.csv': csv([1, 2]) });
    const first = await run(config({ path: dir }), stream('*.csv'));
    const full = await run(config({ path: dir }), { ...stream('*.csv'), mode: 'full_refresh' }, first.state);
    expect(full.ids).toEqual(['1', '2']);
  });

  it('a changed file: skip, reread or append by policy', async () => {
    const dir = folder({ 'a.csv': csv([1, 2]) });
    const first = await run(config({ path: dir }), stream('*.csv'));
    appendFileSync(join(root, dir, 'a.csv'), '3,name 3\n');
    const skip = await run(config({ path: dir, onChange: 'skip' }), stream('*.csv'), first.state);
    expect(skip.ids).toEqual([]);
    const reread = await run(config({ path: dir, onChange: 'reread' }), stream('*.csv'), first.state);
    expect(reread.ids).toEqual(['1', '2', '3']);
    const append = await run(config({ path: dir, onChange: 'append' }), stream('*.csv'), first.state);
    expect(append.ids).toEqual(['3']);
    expect(append.records[0].data).toEqual({ id: '3', name: 'name 3' });
  });

  it('a file still growing between the two listings is left for a later run', async () => {
    const dir = folder({ 'growing.csv': csv([1]), 'stable.csv': csv([2]) });
    server.control.afterList = () => {
      appendFileSync(join(root, dir, 'growing.csv'), '9,late\n');
      server.control.afterList = undefined;
    };
    try {
      const r = await run(config({ path: dir, ready: 'stable-size', settleMs: 0 }), stream('*.csv'));
      expect(r.ids).toEqual(['2']);
      expect(r.logs.some((l) => l.message.includes('growing.csv is still changing'))).toBe(true);
    } finally {
      server.control.afterList = undefined;
    }
    const later = await run(config({ path: dir, ready: 'stable-size', settleMs: 0 }), stream('*.csv'));
    expect(later.ids.sort()).toEqual(['1', '2', '9']);
  });

  it('with ready: marker, only files with a .done marker are read', async () => {
    const dir = folder({ 'a.csv': csv([1]), 'a.csv.done': '', 'b.csv': csv([2]) });
    const r = await run(config({ path: dir, ready: 'marker' }), stream('*'));
    expect(r.ids).toEqual(['1']);
  });

  it('archives a file once the state saying it is done comes back committed', async () => {
    const dir = folder({ 'a.csv': csv([1, 2]) });
    const cfg = config({ path: dir, archiveDir: 'archive' });
    const first = await run(cfg, stream('*.csv'));
    expect(first.ids).toEqual(['1', '2']);
    expect(existsSync(join(root, dir, 'a.csv'))).toBe(true);
    const second = await run(cfg, stream('*.csv'), first.state);
    expect(second.ids).toEqual([]);
    expect(existsSync(join(root, dir, 'a.csv'))).toBe(false);
    expect(existsSync(join(root, dir, 'archive', 'a.csv'))).toBe(true);
    expect((second.state as { files: object }).files).toEqual({});
  });

  it('does not archive a file whose state is not done (interrupted mid-file)', async () => {
    const dir = folder({ 'a.csv': csv([1, 2, 3]) });
    const cfg = config({ path: dir, archiveDir: 'archive', checkpointEvery: 1 });
    let midState: StreamState | undefined;
    for await (const m of sftpSource.read(testContext(cfg), [stream('*.csv')], {})) {
      if (m.type === 'state') {
        midState = m.state;
        break;
      }
    }
    const resumed = await run(cfg, stream('*.csv'), midState);
    expect(existsSync(join(root, dir, 'a.csv'))).toBe(true);
    expect(resumed.ids).toEqual(['2', '3']);
  });

  it('skips a file that disappears between listing and download, with a warning', async () => {
    const dir = folder({ 'a.csv': csv([1]), 'b.csv': csv([2]), 'c.csv': csv([3]) });
    server.control.vanish.add(`${dir}/b.csv`);
    const r = await run(config({ path: dir }), stream('*.csv'));
    server.control.vanish.clear();
    expect(r.ids).toEqual(['1', '3']);
    expect(r.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      `stream drops: sftp://127.0.0.1:${server.port}/${dir}/b.csv disappeared between listing and download; skipped`,
    ]);
  });

  it('refuses remote names with "..", absolute paths or NUL bytes, and such stream paths', async () => {
    const dir = folder({ 'a.csv': csv([1]) });
    server.control.extraNames = ['../evil.csv', '/etc/passwd.csv', 'x\0.csv'];
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run(config({ path: dir }), stream('*.csv'));
    } finally {
      server.control.extraNames = [];
    }
    expect(r.ids).toEqual(['1']);
    const refused = r.logs.filter((l) => l.message.includes('refused'));
    expect(refused).toHaveLength(3);
    expect(server.control.reads.every((x) => !x.path.includes('evil') && !x.path.includes('passwd'))).toBe(true);
    for (const bad of ['../up/*.csv', '/etc/*.csv', 'a\0.csv']) {
      await expect(run(config({ path: dir }), stream(bad))).rejects.toThrow(/path/);
    }
  });
});

describe('sftp resume', () => {
  const big = (n: number) => `id,name\n${Array.from({ length: n }, (_, i) => `${i + 1},"name ${i + 1}"`).join('\n')}\n`;

  it('resumes a file from the checkpointed byte offset, without downloading the bytes before it', async () => {
    const dir = folder({ 'big.csv': big(20000) });
    const cfg = config({ path: dir, checkpointEvery: 1000 });
    const seen: string[] = [];
    let checkpoint: StreamState | undefined;
    for await (const m of sftpSource.read(testContext(cfg), [stream('*.csv')], {})) {
      if (m.type === 'record') seen.push(String(m.data.id));
      if (m.type === 'state' && seen.length >= 5000) {
        checkpoint = m.state;
        break;
      }
    }
    const entry = (checkpoint as { files: Record<string, { offset: number; rows: number }> }).files[`${dir}/big.csv`];
    expect(entry.offset).toBeGreaterThan(0);
    const before = server.control.connections;
    const rest = await run(cfg, stream('*.csv'), checkpoint);
    const reads = server.control.reads.filter((x) => x.path === `${dir}/big.csv` && x.connection > before);
    expect(reads[0].offset).toBe(entry.offset);
    expect(Math.min(...reads.map((x) => x.offset))).toBe(entry.offset);
    const all = [...seen, ...rest.ids];
    expect(all).toEqual(Array.from({ length: 20000 }, (_, i) => String(i + 1)));
  });

  it('a dropped connection mid-file reconnects and resumes after the last row read', async () => {
    const dir = folder({ 'big.csv': big(30000) });
    server.control.reads.length = 0;
    server.control.dropAfterBytes = 300_000;
    const r = await run(config({ path: dir }), stream('*.csv'));
    expect(server.control.dropAfterBytes).toBeUndefined();
    expect(r.ids).toEqual(Array.from({ length: 30000 }, (_, i) => String(i + 1)));
    expect(r.logs.some((l) => /connection lost reading .*big\.csv.*resuming at byte [1-9]/.test(l.message))).toBe(true);
    const reads = server.control.reads.filter((x) => x.path === `${dir}/big.csv`);
    expect(reads.filter((x) => x.offset === 0)).toHaveLength(1);
  });

  it('with no reconnect attempts left, a drop ends the run with one line naming the file', async () => {
    const dir = folder({ 'big.csv': big(30000) });
    server.control.dropAfterBytes = 100_000;
    await expect(run(config({ path: dir, reconnectAttempts: 0 }), stream('*.csv'))).rejects.toThrow(
      new RegExp(`^reading sftp://127\\.0\\.0\\.1:${server.port}/${dir}/big\\.csv failed: `),
    );
  });
});

void collect;
