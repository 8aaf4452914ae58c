import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../core/errors.js';
import type { ConfiguredStream, SourceMessage, StreamState } from '../../core/plugin/types.js';
import { captureLogger, testContext } from '../../test/kit/context.js';
import { sourceConnectorKit } from '../../test/kit/source-kit.js';
import type { RemoteStreamConfig } from '../remote-files/config.js';
import { ftpConfigSchema, type FtpConfig } from './config.js';
import { ftpSource } from './source.js';
import { startProftpd, startVsftpd, type TestFtpServer } from './__fixtures__/ftp-servers.js';
import { writeStoreWorkbook } from '../file/__fixtures__/xlsx-fixtures.js';
import { xlsxSource } from '../file/xlsx-source.js';
import type { XlsxStreamConfig } from '../file/config.js';

const csv = (ids: number[]) => `id,name\n${ids.map((i) => `${i},name ${i}`).join('\n')}\n`;
const big = (n: number) => `id,name\n${Array.from({ length: n }, (_, i) => `${i + 1},"name ${i + 1}"`).join('\n')}\n`;
const range = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));

const stream = (path: string, extra: Partial<RemoteStreamConfig> = {}): ConfiguredStream<RemoteStreamConfig> => ({
  name: 'drops',
  mode: 'incremental',
  primaryKey: ['id'],
  config: { path, ...extra } as RemoteStreamConfig,
});

type Files = Record<string, { size: number; mtimeMs: number; offset: number; done: boolean; rows: number }>;
const filesOf = (s: StreamState | undefined) => (s as { files: Files } | undefined)?.files ?? {};

/** One server under test: its process, and helpers bound to it. */
function harness(start: () => Promise<TestFtpServer>) {
  const h = {
    server: undefined as unknown as TestFtpServer,
    folders: 0,
    /** A fresh folder under the served root, writable by the server's user (archive renames into it). */
    folder(files: Record<string, string> = {}): string {
      const name = `t${++h.folders}`;
      mkdirSync(join(h.server.root, name));
      chmodSync(join(h.server.root, name), 0o777);
      for (const [f, text] of Object.entries(files)) writeFileSync(join(h.server.root, name, f), text);
      return name;
    },
    config(over: Partial<Record<keyof FtpConfig, unknown>> = {}): FtpConfig {
      return ftpConfigSchema.parse({
        host: '127.0.0.1',
        port: h.server.port,
        username: h.server.username,
        password: h.server.password || undefined,
        secure: true,
        caFile: h.server.caFile,
        ready: 'any',
        reconnectBaseMs: 10,
        ...over,
      });
    },
    async run(cfg: FtpConfig, s: ConfiguredStream<RemoteStreamConfig>, state?: StreamState, each?: (m: SourceMessage, n: number) => void) {
      const ctx = testContext(cfg);
      const messages: SourceMessage[] = [];
      for await (const m of ftpSource.read(ctx, [s], { [s.name]: state })) {
        messages.push(m);
        each?.(m, messages.length);
      }
      const states = messages.filter((m) => m.type === 'state');
      return {
        ids: messages.flatMap((m) => (m.type === 'record' ? [String(m.data.id)] : [])),
        records: messages.flatMap((m) => (m.type === 'record' ? [m] : [])),
        errors: messages.flatMap((m) => (m.type === 'error' ? [m] : [])),
        state: states.length ? states[states.length - 1].state : undefined,
        logs: (ctx.logger as ReturnType<typeof captureLogger>).entries,
      };
    },
  };
  beforeAll(async () => {
    h.server = await start();
  }, 120_000);
  afterAll(async () => {
    await h.server?.close();
  });
  return h;
}

describe.each([
  { kind: 'proftpd', start: () => startProftpd('explicit'), list: 'MLSD' },
  { kind: 'vsftpd', start: () => startVsftpd('explicit'), list: 'LIST' },
])('ftp against $kind', ({ kind, start, list }) => {
  const h = harness(start);
  const display = (p: string) => `ftps://127.0.0.1:${h.server.port}/${p}`;

  describe('source kit (explicit FTPS, CA pinned)', () => {
    let dir: string;
    sourceConnectorKit<FtpConfig, RemoteStreamConfig>({
      connector: ftpSource,
      async setup() {
        dir = h.folder({ 'a.csv': csv([1, 2, 3]) });
        return h.config({ path: dir });
      },
      stream: () => ({ name: 'a', mode: 'incremental', primaryKey: ['id'], config: { path: '*.csv' } as RemoteStreamConfig }),
      expectedInitialCount: 3,
      keyOf: (d) => String(d.id),
      async addNewer() {
        writeFileSync(join(h.server.root, dir, 'b.csv'), csv([4, 5]));
        return ['4', '5'];
      },
      farFutureState() {
        const files: Record<string, StreamState[string]> = {};
        for (const f of readdirSync(join(h.server.root, dir))) {
          const st = statSync(join(h.server.root, dir, f));
          files[`${dir}/${f}`] = { size: st.size, mtimeMs: Math.floor(st.mtimeMs / 1000) * 1000, rows: 0, line: 0, offset: st.size, skip: 0, done: true };
        }
        return { version: 1, kind: 'remote-files', files };
      },
      badConfigs: [
        { name: 'no host', config: { username: 'u' }, message: /host/ },
        { name: 'secure is not a mode', config: { host: 'h', secure: 'always' }, message: /secure/ },
      ],
    });
  });

  it(`lists with ${list}; size and mtime (seconds, UTC) match the file on disk`, async () => {
    const dir = h.folder({ 'a.csv': csv([1, 2]) });
    const when = new Date('2026-03-04T05:06:07Z');
    const { utimesSync } = await import('node:fs');
    utimesSync(join(h.server.root, dir, 'a.csv'), when, when);
    const before = h.server.commands().length;
    const r = await h.run(h.config({ path: dir, secure: false }), stream('*.csv'));
    expect(r.ids).toEqual(['1', '2']);
    expect(filesOf(r.state)[`${dir}/a.csv`]).toMatchObject({ size: csv([1, 2]).length, mtimeMs: when.getTime(), done: true });
    const seen = h.server.commands().slice(before);
    expect(seen.some((c) => c.startsWith(list))).toBe(true);
    // LIST dates are minute-precision (or day-precision after six months): the mtime comes from MDTM.
    if (list === 'LIST') expect(seen).toContain(`MDTM /${dir}/a.csv`);
    else expect(seen.some((c) => c.startsWith('MDTM'))).toBe(false);
  });

  it('discover samples the head of a big file and leaves no connection open', async () => {
    const dir = h.folder({ 'big.csv': big(200_000), 'small.csv': csv([1]) });
    const streams = await ftpSource.discover(testContext(h.config({ path: dir })));
    expect(streams.map((s) => s.name).sort()).toEqual(['big', 'small']);
    expect(Object.keys(streams.find((s) => s.name === 'big')!.fields).sort()).toEqual(['id', 'name']);
    // The sample stops after 100 rows: the RETR still running is cut by closing that link, and nothing reopens it after close.
    let open = h.server.sessionCount();
    for (let i = 0; i < 100 && open > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      open = h.server.sessionCount();
    }
    expect(open).toBe(0);
  });

  it('reports a missing directory in check and in read', async () => {
    const res = await ftpSource.check(testContext(h.config({ path: 'no-such-dir' })));
    expect(res).toEqual({ ok: false, message: `remote directory ${display('no-such-dir')} does not exist` });
    await expect(h.run(h.config({ path: 'no-such-dir' }), stream('*.csv'))).rejects.toThrow(/does not exist/);
  });

  it('skips a file that disappears between listing and download, with a warning', async () => {
    const dir = h.folder({ 'a.csv': csv([1]), 'b.csv': csv([2]), 'c.csv': csv([3]) });
    const r = await h.run(h.config({ path: dir }), stream('*.csv'), undefined, (m) => {
      // The listing is done once a.csv's first row arrives; b.csv has not been asked for yet.
      if (m.type === 'record' && m.data.id === '1') rmSync(join(h.server.root, dir, 'b.csv'));
    });
    expect(r.ids).toEqual(['1', '3']);
    expect(r.logs.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual([
      `stream drops: ${display(`${dir}/b.csv`)} disappeared between listing and download; skipped`,
    ]);
    expect(Object.keys(filesOf(r.state)).sort()).toEqual([`${dir}/a.csv`, `${dir}/c.csv`]);
  });

  it('reads an XLSX workbook over FTPS with the local xlsx reader: same typed rows, an error cell dead-lettered naming file!sheet!cell', async () => {
    const dir = h.folder();
    await writeStoreWorkbook(join(h.server.root, dir, 'store.xlsx'));
    const remote = await h.run(h.config({ path: dir }), stream('*.xlsx'));
    const local: SourceMessage[] = [];
    const localStream: ConfiguredStream<XlsxStreamConfig> = { name: 's', mode: 'full_refresh', config: { path: join(h.server.root, dir, 'store.xlsx') } as XlsxStreamConfig };
    for await (const m of xlsxSource.read(testContext({ checkpointEvery: 5000 }), [localStream], {})) local.push(m);
    expect(remote.records.length).toBeGreaterThan(0);
    expect(remote.records.map((r) => r.data)).toEqual(local.flatMap((m) => (m.type === 'record' ? [m.data] : [])));
    expect(remote.errors.map((e) => e.reason)).toEqual([expect.stringContaining(`${display(`${dir}/store.xlsx`)}!Customers!J4 holds the error #REF!`)]);
    expect(filesOf(remote.state)[`${dir}/store.xlsx`].done).toBe(true);
  });

  it('a CSV that turns invalid halfway: good rows kept, bad ones dead-lettered with file and line', async () => {
    const dir = h.folder({ 'a.csv': 'id,name\n1,ann\n2,bob\n3,too,many\n4,"unclosed\n' });
    const r = await h.run(h.config({ path: dir }), stream('*.csv'));
    expect(r.ids).toEqual(['1', '2']);
    expect(r.errors.map((e) => e.origin)).toEqual([`${display(`${dir}/a.csv`)}:4`, `${display(`${dir}/a.csv`)}:5`]);
    expect(r.errors[0].reason).toMatch(/expected 2 columns, got 3/);
    expect(filesOf(r.state)[`${dir}/a.csv`].done).toBe(true);
  });

  it('an empty file yields nothing, is remembered, and is not read again', async () => {
    const dir = h.folder({ 'empty.csv': '' });
    const r = await h.run(h.config({ path: dir }), stream('*.csv'));
    expect(r.records).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(filesOf(r.state)[`${dir}/empty.csv`]).toMatchObject({ size: 0, done: true });
    const before = h.server.commands().length;
    await h.run(h.config({ path: dir }), stream('*.csv'), r.state);
    expect(h.server.commands().slice(before).some((c) => c.startsWith('RETR'))).toBe(false);
  });

  it('refuses a remote name with a path separator, and stream paths with "..", absolute paths or NUL bytes', async () => {
    const dir = h.folder({ 'a.csv': csv([1]), 'x\\..\\evil.csv': csv([666]) });
    const before = h.server.commands().length;
    const r = await h.run(h.config({ path: dir }), stream('*.csv'));
    expect(r.ids).toEqual(['1']);
    expect(r.logs.filter((l) => l.message.includes('refused')).map((l) => l.message)).toEqual([
      `stream drops: remote name "x\\\\..\\\\evil.csv" in ${display(dir)} contains a path separator; refused`,
    ]);
    expect(h.server.commands().slice(before).filter((c) => c.includes('evil'))).toEqual([]);
    for (const bad of ['../up/*.csv', '/etc/*.csv', 'a\0.csv']) {
      await expect(h.run(h.config({ path: dir }), stream(bad))).rejects.toThrow(/path/);
    }
  });

  it('a file still growing between the two listings is left for a later run', async () => {
    const dir = h.folder({ 'growing.csv': csv([1]), 'stable.csv': csv([2]) });
    const before = h.server.commands().length;
    let appended = false;
    // Append once the first listing is served, inside the settle pause: proftpd logs MLSD when it completes;
    // vsftpd logs LIST as it starts, but the MDTM that follows comes after the listing.
    const served = list === 'LIST' ? 'MDTM' : 'MLSD';
    const watch = setInterval(() => {
      if (!appended && h.server.commands().slice(before).some((c) => c.startsWith(served))) {
        appended = true;
        appendFileSync(join(h.server.root, dir, 'growing.csv'), '9,late\n');
      }
    }, 20);
    try {
      const r = await h.run(h.config({ path: dir, ready: 'stable-size', settleMs: 1500 }), stream('*.csv'));
      expect(appended).toBe(true);
      expect(r.ids).toEqual(['2']);
      expect(r.logs.some((l) => l.message.includes('growing.csv is still changing'))).toBe(true);
      const later = await h.run(h.config({ path: dir, ready: 'stable-size', settleMs: 0 }), stream('*.csv'), r.state);
      expect(later.ids).toEqual(['1', '9']);
    } finally {
      clearInterval(watch);
    }
  });

  it('onChange: append reads only the appended bytes, asking for them with REST at the old size', async () => {
    const dir = h.folder({ 'a.csv': csv([1, 2]) });
    const first = await h.run(h.config({ path: dir }), stream('*.csv'));
    appendFileSync(join(h.server.root, dir, 'a.csv'), '3,name 3\n');
    const before = h.server.commands().length;
    const append = await h.run(h.config({ path: dir, onChange: 'append' }), stream('*.csv'), first.state);
    expect(append.records.map((r) => r.data)).toEqual([{ id: '3', name: 'name 3' }]);
    expect(h.server.commands().slice(before).filter((c) => c.startsWith('REST'))).toEqual([`REST ${csv([1, 2]).length}`]);
  });

  it('archives a file once the state saying it is done comes back committed', async () => {
    const dir = h.folder({ 'a.csv': csv([1, 2]) });
    const cfg = h.config({ path: dir, archiveDir: 'archive' });
    const first = await h.run(cfg, stream('*.csv'));
    expect(first.ids).toEqual(['1', '2']);
    expect(existsSync(join(h.server.root, dir, 'a.csv'))).toBe(true);
    const second = await h.run(cfg, stream('*.csv'), first.state);
    expect(second.ids).toEqual([]);
    expect(existsSync(join(h.server.root, dir, 'a.csv'))).toBe(false);
    expect(existsSync(join(h.server.root, dir, 'archive', 'a.csv'))).toBe(true);
    expect(filesOf(second.state)).toEqual({});
  });

  it('resumes a file from the checkpointed byte offset with REST, not from byte 0', async () => {
    const dir = h.folder({ 'big.csv': big(20000) });
    const cfg = h.config({ path: dir, checkpointEvery: 1000 });
    const seen: string[] = [];
    let checkpoint: StreamState | undefined;
    for await (const m of ftpSource.read(testContext(cfg), [stream('*.csv')], {})) {
      if (m.type === 'record') seen.push(String(m.data.id));
      if (m.type === 'state' && seen.length >= 5000) {
        checkpoint = m.state;
        break;
      }
    }
    const entry = filesOf(checkpoint)[`${dir}/big.csv`];
    expect(entry.offset).toBeGreaterThan(0);
    const before = h.server.commands().length;
    const rest = await h.run(cfg, stream('*.csv'), checkpoint);
    const transfers = h.server.commands().slice(before).filter((c) => c.startsWith('REST') || c.startsWith('RETR'));
    // proftpd logs the first run's abandoned RETR only when it ends, which may be after `before`.
    expect(transfers.filter((c) => c.startsWith('REST'))).toEqual([`REST ${entry.offset}`]);
    expect(transfers.slice(transfers.indexOf(`REST ${entry.offset}`))).toEqual([`REST ${entry.offset}`, `RETR /${dir}/big.csv`]);
    expect([...seen, ...rest.ids]).toEqual(range(20000));
  });

  it('a dropped connection mid-file (server sessions killed) reconnects and resumes at the offset', async () => {
    // 600k rows (11 MB): more than loopback socket buffers hold, so the kill lands mid-transfer.
    const dir = h.folder({ 'big.csv': big(600_000) });
    const before = h.server.commands().length;
    let dropped = false;
    const r = await h.run(h.config({ path: dir }), stream('*.csv'), undefined, (m) => {
      if (!dropped && m.type === 'record' && m.data.id === '20000') {
        dropped = true;
        h.server.dropSessions();
      }
    });
    expect(r.ids).toEqual(range(600_000));
    const warn = r.logs.find((l) => l.message.includes('connection lost reading'));
    expect(warn?.message).toMatch(/resuming at byte [1-9]\d*/);
    const offset = Number(/resuming at byte (\d+)/.exec(warn!.message)![1]);
    const transfers = h.server.commands().slice(before).filter((c) => c.startsWith('REST') || c.startsWith('RETR'));
    // proftpd logs a command when it completes, so the killed session's first RETR is not in its log; vsftpd logs it.
    expect(transfers.slice(-2)).toEqual([`REST ${offset}`, `RETR /${dir}/big.csv`]);
    expect(transfers.filter((c) => c.startsWith('REST'))).toEqual([`REST ${offset}`]);
    expect(transfers).toHaveLength(kind === 'vsftpd' ? 3 : 2);
  });

  it('with no reconnect attempts left, a drop ends the run with one line naming the file', async () => {
    const dir = h.folder({ 'big.csv': big(600_000) });
    let dropped = false;
    await expect(
      h.run(h.config({ path: dir, reconnectAttempts: 0 }), stream('*.csv'), undefined, (m) => {
        if (!dropped && m.type === 'record') {
          dropped = true;
          h.server.dropSessions();
        }
      }),
    ).rejects.toThrow(new RegExp(`^reading ftps://127\\.0\\.0\\.1:${h.server.port}/${dir}/big\\.csv failed: [^\\n]+$`));
  });

  it('explicit FTPS protects the control and data connections; a certificate not pinned is refused in one line', async () => {
    const dir = h.folder({ 'a.csv': csv([1]) });
    const before = h.server.commands().length;
    expect((await h.run(h.config({ path: dir }), stream('*.csv'))).ids).toEqual(['1']);
    const seen = h.server.commands().slice(before);
    // Commands after AUTH TLS travel encrypted; the server logs them once decrypted.
    expect(seen).toEqual(expect.arrayContaining(['PBSZ 0', 'PROT P']));
    const unpinned = await ftpSource.check(testContext(h.config({ path: dir, caFile: undefined })));
    expect(unpinned.ok).toBe(false);
    expect(unpinned.message).toMatch(/^ftps:\/\/.*: TLS: .*self.signed certificate/);
    expect(unpinned.message).not.toContain('\n');
    const ctx = testContext(h.config({ path: dir, caFile: undefined, rejectUnauthorized: false }));
    expect(await ftpSource.check(ctx)).toEqual({ ok: true });
    expect((ctx.logger as ReturnType<typeof captureLogger>).entries.some((l) => l.level === 'warn' && l.message.includes('rejectUnauthorized is false'))).toBe(true);
  });

  if (kind === 'proftpd') {
    it('refuses a wrong password in one line, without the secret and without retrying', async () => {
      const before = h.server.commands().length;
      const res = await ftpSource.check(testContext(h.config({ password: 'wrong-secret-x' })));
      expect(res.ok).toBe(false);
      expect(res.message).toMatch(/^ftps:\/\/feed@127\.0\.0\.1:\d+: login refused for user feed \(530 /);
      expect(res.message).not.toMatch(/wrong-secret-x/);
      expect(res.message).not.toContain('\n');
      const err = await h.run(h.config({ password: 'wrong-secret-x', reconnectAttempts: 5 }), stream('*.csv')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as ConnectionError).retryable).toBe(false);
      expect(h.server.commands().slice(before).filter((c) => c.startsWith('PASS'))).toHaveLength(2);
    });

    it('declares the password as a secret', () => {
      expect(ftpSource.spec.secrets).toEqual(['password']);
    });
  }
});

describe.each([
  { kind: 'proftpd', start: () => startProftpd('implicit') },
  { kind: 'vsftpd', start: () => startVsftpd('implicit') },
])('implicit FTPS against $kind', ({ start }) => {
  const h = harness(start);

  it('reads over TLS from the first byte, and resumes with REST inside it', async () => {
    const dir = h.folder({ 'a.csv': big(3000) });
    const cfg = h.config({ path: dir, secure: 'implicit', checkpointEvery: 1000 });
    const r = await h.run(cfg, stream('*.csv'));
    expect(r.ids).toEqual(range(3000));
    expect(r.records[0].origin).toBe(`ftps://127.0.0.1:${h.server.port}/${dir}/a.csv:2`);
    // A plain FTP client gets no banner from an implicit-TLS port.
    const plain = await ftpSource.check(testContext(h.config({ path: dir, secure: false, connectTimeoutMs: 1500 })));
    expect(plain.ok).toBe(false);
  });
});
