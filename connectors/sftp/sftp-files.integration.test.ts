import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { ConfiguredStream, SourceMessage, StreamState } from '../../core/plugin/types.js';
import { captureLogger, testContext } from '../../test/kit/context.js';
import { writePeopleWorkbook, writeStoreWorkbook } from '../file/__fixtures__/xlsx-fixtures.js';
import { xlsxSource } from '../file/xlsx-source.js';
import type { XlsxStreamConfig } from '../file/config.js';
import type { RemoteStreamConfig } from '../remote-files/config.js';
import { sftpConfigSchema, type SftpConfig } from './config.js';
import { sftpSource } from './source.js';
import { connectSftp } from './sftp-session.js';
import { startSftpServer, type TestSftpServer } from './__fixtures__/sftp-server.js';

/** XLSX over SFTP, `spool: true`, and a dropped listing: the parts of the remote-file layer beyond CSV/JSONL streaming. */

let server: TestSftpServer;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), `tributary-sftp-files-${process.pid}-`));
  server = await startSftpServer(root);
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});
afterEach(() => {
  server.control.dropAfterBytes = undefined;
  server.control.dropNextListing = false;
});

let folders = 0;
function folder(): string {
  const name = `f${++folders}`;
  mkdirSync(join(root, name));
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

/** Every message of a read; `during` is called on each one as it arrives (while the read is still open). */
async function run(cfg: SftpConfig, s: ConfiguredStream<RemoteStreamConfig>, state?: StreamState, during?: (m: SourceMessage, logs: string[]) => void) {
  const ctx = testContext(cfg);
  const logger = ctx.logger as ReturnType<typeof captureLogger>;
  const messages: SourceMessage[] = [];
  for await (const m of sftpSource.read(ctx, [s], { [s.name]: state })) {
    messages.push(m);
    during?.(m, logger.entries.map((l) => l.message));
  }
  const states = messages.filter((m) => m.type === 'state');
  return {
    records: messages.flatMap((m) => (m.type === 'record' ? [m] : [])),
    errors: messages.flatMap((m) => (m.type === 'error' ? [m] : [])),
    state: states.length ? states[states.length - 1].state : undefined,
    logs: logger.entries.map((l) => l.message),
  };
}

const display = (dir: string, file: string) => `sftp://127.0.0.1:${server.port}/${dir}/${file}`;

describe('sftp: xlsx workbooks', () => {
  it('reads a store team\'s workbook with typed cells, the same rows as the local xlsx source, and dead-letters an error cell naming file!sheet!cell', async () => {
    const dir = folder();
    await writeStoreWorkbook(join(root, dir, 'store.xlsx'));
    const remote = await run(config({ path: dir }), stream('*.xlsx'));
    const local: SourceMessage[] = [];
    const localStream: ConfiguredStream<XlsxStreamConfig> = { name: 's', mode: 'full_refresh', config: { path: join(root, dir, 'store.xlsx') } as XlsxStreamConfig };
    for await (const m of xlsxSource.read(testContext({ checkpointEvery: 5000 }), [localStream], {})) local.push(m);

    expect(remote.records.map((r) => r.data)).toEqual(local.flatMap((m) => (m.type === 'record' ? [m.data] : [])));
    expect(remote.records[0].data).toMatchObject({ id: 1, name: 'Ann Lee', joined: '2024-01-15T09:30:00.000Z', vip: true, spend: 12.5, double: 25 });
    expect(remote.records.map((r) => r.origin)).toEqual(['2', '3', '5'].map((row) => `${display(dir, 'store.xlsx')}:${row}`));
    expect(remote.errors).toHaveLength(1);
    expect(remote.errors[0].origin).toBe(`${display(dir, 'store.xlsx')}:4`);
    expect(remote.errors[0].reason).toContain(`${display(dir, 'store.xlsx')}!Customers!J4 holds the error #REF!`);

    // Per-file state: an unchanged workbook is not read again.
    const again = await run(config({ path: dir }), stream('*.xlsx'), remote.state);
    expect(again.records).toEqual([]);
    expect(again.errors).toEqual([]);
  });

  it('honours sheet and headerRow, and reports a missing sheet as a dead letter naming the file', async () => {
    const dir = folder();
    await writeStoreWorkbook(join(root, dir, 'store.xlsx'));
    const stores = await run(config({ path: dir }), stream('store.xlsx', { sheet: 'Stores', headerRow: 3 }));
    expect(stores.records.map((r) => r.data)).toEqual([{ code: 'S1', city: 'Oslo' }, { code: 'S2', city: 'Bergen' }]);
    const missing = await run(config({ path: dir }), stream('store.xlsx', { sheet: 'Nope' }));
    expect(missing.errors.map((e) => e.reason)).toEqual([`${display(dir, 'store.xlsx')}: sheet "Nope" not found (sheets: Customers, Stores); file skipped`]);
  });

  it('resumes a workbook after the rows already checkpointed (by row count)', async () => {
    const dir = folder();
    await writePeopleWorkbook(join(root, dir, 'people.xlsx'), Array.from({ length: 50 }, (_, i) => ({ id: i + 1, email: `p${i + 1}@shop.test` })));
    const cfg = config({ path: dir, checkpointEvery: 20 });
    const seen: number[] = [];
    let checkpoint: StreamState | undefined;
    for await (const m of sftpSource.read(testContext(cfg), [stream('*.xlsx')], {})) {
      if (m.type === 'record') seen.push(m.data.id as number);
      if (m.type === 'state') {
        checkpoint = m.state;
        break;
      }
    }
    expect(seen).toHaveLength(20);
    const rest = await run(cfg, stream('*.xlsx'), checkpoint);
    expect([...seen, ...rest.records.map((r) => r.data.id)]).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('a connection dropped mid-workbook reconnects and reads every row once', async () => {
    const dir = folder();
    await writePeopleWorkbook(join(root, dir, 'people.xlsx'), Array.from({ length: 20000 }, (_, i) => ({ id: i + 1, email: `p${i + 1}@shop.test` })));
    const size = statSync(join(root, dir, 'people.xlsx')).size;
    server.control.dropAfterBytes = Math.floor(size * 0.6);
    const r = await run(config({ path: dir }), stream('*.xlsx'));
    expect(server.control.dropAfterBytes).toBeUndefined();
    expect(r.errors).toEqual([]);
    expect(r.records.map((m) => m.data.id)).toEqual(Array.from({ length: 20000 }, (_, i) => i + 1));
    expect(r.logs.some((l) => /connection lost reading .*people\.xlsx.*resuming after row \d+ \(the workbook is downloaded again\)/.test(l))).toBe(true);
  });

  it('a file that is not a workbook is one dead letter, and the run goes on', async () => {
    const dir = folder();
    writeFileSync(join(root, dir, 'a.xlsx'), 'id,name\n1,not a zip\n');
    await writePeopleWorkbook(join(root, dir, 'b.xlsx'), [{ id: 7, email: 'x@shop.test' }]);
    const r = await run(config({ path: dir }), stream('*.xlsx'));
    expect(r.records.map((m) => m.data.id)).toEqual([7]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].reason).toMatch(/a\.xlsx.*not .*(ZIP|XLSX)/);
  });
});

describe('sftp: spool', () => {
  let tmp: string;
  let saved: string | undefined;
  beforeEach(() => {
    // A temp folder of this test's own, so "nothing left behind" is not confused by other processes' files.
    saved = process.env.TMPDIR;
    tmp = mkdtempSync(join(root, 'tmp-'));
    process.env.TMPDIR = tmp;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  });

  const csv = (n: number) => `id,name\n${Array.from({ length: n }, (_, i) => `${i + 1},"name ${i + 1}"`).join('\n')}\n`;
  const spooledPath = (logs: string[]) => logs.map((l) => / to (\S+tributary-spool-\S+)$/.exec(l)?.[1]).find(Boolean);

  it('downloads to a temp file that exists during the read and is gone after; the rows equal the streamed read', async () => {
    const dir = folder();
    writeFileSync(join(root, dir, 'a.csv'), csv(3000));
    await writePeopleWorkbook(join(root, dir, 'b.xlsx'), Array.from({ length: 30 }, (_, i) => ({ id: i + 1, email: `p${i + 1}@shop.test` })));
    const streamed = await run(config({ path: dir }), stream('*'));
    const paths = new Set<string>();
    const tempNames: string[] = [];
    const spooled = await run(config({ path: dir, spool: true }), stream('*'), undefined, (m, logs) => {
      if (m.type !== 'record') return;
      const p = spooledPath(logs.slice(-50).reverse());
      expect(p).toBeDefined();
      expect(existsSync(p!)).toBe(true);
      paths.add(p!);
      // The spooled workbook is opened where it was downloaded, not copied to a second temp file.
      if (m.origin?.includes('b.xlsx')) tempNames.push(...readdirSync(tmp));
    });
    expect(paths.size).toBe(2);
    expect(tempNames.length).toBeGreaterThan(0);
    expect(tempNames.filter((n) => !n.startsWith('tributary-spool-'))).toEqual([]);
    expect(statSync(join(root, dir, 'a.csv')).size).toBeGreaterThan(0);
    for (const p of paths) expect(existsSync(p)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
    expect(spooled.records.length).toBe(3030);
    expect(spooled.records.map((r) => [r.origin, r.data])).toEqual(streamed.records.map((r) => [r.origin, r.data]));
    expect(spooled.state).toEqual(streamed.state);
  });

  it('a spooled file resumed from a checkpoint downloads only the bytes after it', async () => {
    const dir = folder();
    writeFileSync(join(root, dir, 'a.csv'), csv(3000));
    const cfg = config({ path: dir, spool: true, checkpointEvery: 1000 });
    let checkpoint: StreamState | undefined;
    for await (const m of sftpSource.read(testContext(cfg), [stream('*.csv')], {})) {
      if (m.type === 'state') {
        checkpoint = m.state;
        break;
      }
    }
    expect(readdirSync(tmp)).toEqual([]);
    const offset = (checkpoint as { files: Record<string, { offset: number }> }).files[`${dir}/a.csv`].offset;
    const before = server.control.connections;
    const rest = await run(cfg, stream('*.csv'), checkpoint);
    expect(rest.records.map((r) => r.data.id)).toEqual(Array.from({ length: 2000 }, (_, i) => String(i + 1001)));
    const reads = server.control.reads.filter((x) => x.path === `${dir}/a.csv` && x.connection > before);
    expect(Math.min(...reads.map((x) => x.offset))).toBe(offset);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('a download that fails leaves no temp file, and the error names the file', async () => {
    const dir = folder();
    writeFileSync(join(root, dir, 'a.csv'), csv(30000));
    server.control.dropAfterBytes = 100_000;
    await expect(run(config({ path: dir, spool: true, reconnectAttempts: 0 }), stream('*.csv'))).rejects.toThrow(new RegExp(`reading ${display(dir, 'a.csv')} failed`));
    expect(readdirSync(tmp)).toEqual([]);
    // With attempts left, the same drop is retried and the file read whole.
    server.control.dropAfterBytes = 100_000;
    const r = await run(config({ path: dir, spool: true }), stream('*.csv'));
    expect(r.records).toHaveLength(30000);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('sftp: a dropped listing', () => {
  it('is retried with backoff, and the run succeeds', async () => {
    const dir = folder();
    writeFileSync(join(root, dir, 'a.csv'), 'id\n1\n2\n');
    server.control.dropNextListing = true;
    const r = await run(config({ path: dir }), stream('*.csv'));
    expect(server.control.dropNextListing).toBe(false);
    expect(r.records.map((m) => m.data.id)).toEqual(['1', '2']);
    expect(r.logs.some((l) => l.startsWith(`stream drops: connection lost listing sftp://127.0.0.1:${server.port}/${dir} (`) && l.endsWith('reconnecting in 10 ms'))).toBe(true);
  });

  it('with no reconnect attempts left, fails naming the directory', async () => {
    const dir = folder();
    server.control.dropNextListing = true;
    await expect(run(config({ path: dir, reconnectAttempts: 0 }), stream('*.csv'))).rejects.toThrow(`remote directory sftp://127.0.0.1:${server.port}/${dir} cannot be listed`);
  });
});

describe('sftp: the README worked examples', () => {
  /** The YAML blocks of README.md whose source uses the sftp connector, `${VAR}` replaced by a placeholder. */
  const readmeSources = () =>
    [...readFileSync(join(import.meta.dirname, 'README.md'), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap(
      (m) => (parseYaml(m[1].replace(/\$\{[A-Z_]+\}/g, 'secret-from-env')) as { sources: Array<{ name: string; config: Record<string, unknown>; streams: Array<{ config: RemoteStreamConfig }> }> }).sources,
    );
  /** A README source's config, pointed at the test server: host, port, credentials and host key are the only changes. */
  const asTested = (c: Record<string, unknown>, dir: string) =>
    config({ ...c, privateKey: undefined, password: server.password, host: '127.0.0.1', port: server.port, username: server.username, hostKey: server.hostKey.fingerprint, path: dir, settleMs: 0 });

  it('the documented configs are valid as written', () => {
    const sources = readmeSources();
    expect(sources.map((s) => s.name).sort()).toEqual(['partner-a', 'store-team']);
    for (const s of sources) expect(sftpConfigSchema.safeParse(s.config).success).toBe(true);
  });

  it('the nightly partner drop: read once when its marker is there, archived with its marker after commit, a drop without marker waits', async () => {
    const partner = readmeSources().find((s) => s.name === 'partner-a')!;
    const dir = folder();
    const cfg = asTested(partner.config, dir);
    const members = { ...stream(partner.streams[0].config.path, partner.streams[0].config), primaryKey: ['member_id'] };
    const drop = (day: string, ids: number[]) => writeFileSync(join(root, dir, `members-${day}.csv`), `member_id;email;first_name\n${ids.map((i) => `${i};m${i}@partner.test;M${i}`).join('\n')}\n`);
    drop('20261130', [1, 2]);
    writeFileSync(join(root, dir, 'members-20261130.csv.done'), '');
    const night1 = await run(cfg, members);
    expect(night1.records.map((r) => r.data)).toEqual([
      { member_id: '1', email: 'm1@partner.test', first_name: 'M1' },
      { member_id: '2', email: 'm2@partner.test', first_name: 'M2' },
    ]);
    drop('20261201', [3]);
    writeFileSync(join(root, dir, 'members-20261201.csv.done'), '');
    drop('20261202', [4]); // still uploading: no marker yet
    const night2 = await run(cfg, members, night1.state);
    expect(night2.records.map((r) => r.data.member_id)).toEqual(['3']);
    expect(readdirSync(join(root, dir, 'done')).sort()).toEqual(['members-20261130.csv', 'members-20261130.csv.done']);
    expect(existsSync(join(root, dir, 'members-20261202.csv'))).toBe(true);
  });

  it('the store team workbook: sheet Members, header on row 3, spooled', async () => {
    const store = readmeSources().find((s) => s.name === 'store-team')!;
    const dir = folder();
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Summary');
    ws.addRow(['week 48']);
    const m = wb.addWorksheet('Members');
    m.addRow(['Loyalty members']);
    m.addRow(['exported 2026-11-30']);
    m.addRow(['member_id', 'email', 'first_name', 'joined']);
    m.addRow([7, 'kari@store.test', 'Kari', new Date(Date.UTC(2026, 10, 2))]);
    await wb.xlsx.writeFile(join(root, dir, 'stores-week-48.xlsx'));
    const r = await run(asTested(store.config, dir), stream(store.streams[0].config.path, store.streams[0].config));
    expect(r.errors).toEqual([]);
    expect(r.records.map((x) => x.data)).toEqual([{ member_id: 7, email: 'kari@store.test', first_name: 'Kari', joined: '2026-11-02T00:00:00.000Z' }]);
  });
});

describe('sftp session: requests after the link dropped', () => {
  it('fail at once with a connection error instead of waiting forever (ssh2 buffers them unanswered)', async () => {
    const dir = folder();
    writeFileSync(join(root, dir, 'a.csv'), 'id\n1\n');
    const session = await connectSftp(config());
    try {
      server.control.dropNextListing = true;
      await expect(session.list(dir)).rejects.toThrow();
      await new Promise((r) => setTimeout(r, 50));
      const read = async () => {
        for await (const chunk of session.read(`${dir}/a.csv`, 0, 5)) void chunk;
      };
      await expect(read()).rejects.toThrow(/connection lost/);
      await expect(session.list(dir)).rejects.toThrow(/connection lost/);
      await expect(session.rename(`${dir}/a.csv`, `${dir}/b.csv`)).rejects.toThrow(/connection lost/);
      expect(session.classify(await session.list(dir).catch((e: unknown) => e))).toBe('connection');
    } finally {
      await session.close();
    }
  }, 10_000);
});
