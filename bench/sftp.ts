import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import type { StreamState } from '../core/plugin/types.js';
import { csvTextRows } from '../connectors/file/text-rows.js';
import { DEFAULT_MAX_RECORD_SIZE } from '../connectors/file/config.js';
import { sftpConfigSchema, type SftpConfig } from '../connectors/sftp/config.js';
import { sftpSource } from '../connectors/sftp/source.js';
import { startSftpServer } from '../connectors/sftp/__fixtures__/sftp-server.js';
import type { RemoteStreamConfig } from '../connectors/remote-files/config.js';
import { benchContext } from './mysql.js';
import { arg, fmt, peakRssMb, timed } from './measure.js';

/**
 * `npm run bench -- sftp [--rows 1000000] [--runs 2]`: the sftp source reading one
 * CSV of N lines from ssh2's SFTP server (the test fixture, started in a child
 * process so it does not share this process's event loop, over TCP on
 * 127.0.0.1), against two floors measured in the same run: a bare ssh2
 * download of the same file (bytes to nowhere) and the bare parse of the same
 * file from disk with the project's CSV parser. Target: source time within
 * 1.5x of download + parse, with flat memory (RSS sampled at each checkpoint).
 */

interface Served {
  port: number;
  username: string;
  password: string;
  fingerprint: string;
}

/** Child mode: serve `root` and print where, then live until stdin closes. */
async function serve(root: string): Promise<void> {
  const server = await startSftpServer(root);
  const info: Served = { port: server.port, username: server.username, password: server.password, fingerprint: server.hostKey.fingerprint };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
  await server.close();
  process.exit(0);
}

async function startChild(root: string): Promise<{ child: ChildProcess; served: Served }> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'sftp', '--serve', root], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`sftp server child exited with ${code}`)));
  });
  return { child, served: JSON.parse(line) as Served };
}

async function writeCsv(file: string, rows: number): Promise<number> {
  const out = createWriteStream(file);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('id,email,first_name,last_name,phone,city,updated_at\n');
  let chunk = '';
  for (let i = 1; i <= rows; i++) {
    chunk += `${i},user${i}@example.org,First${i % 977},"Last, ${i % 313}",+4790${String(i).padStart(6, '0')},City ${i % 101},2026-11-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z\n`;
    if (chunk.length > 1 << 16) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((r) => out.end(() => r()));
  return (await stat(file)).size;
}

/** Floor 1: the same bytes through a bare ssh2 SFTP read stream, counted and dropped. */
async function bareDownload(s: Served, path: string): Promise<number> {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve()).once('error', reject);
    client.connect({ host: '127.0.0.1', port: s.port, username: s.username, password: s.password, hostVerifier: () => true });
  });
  try {
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, w) => (err ? reject(err) : resolve(w))));
    let bytes = 0;
    for await (const b of sftp.createReadStream(path, { highWaterMark: 256 * 1024 })) bytes += (b as Buffer).length;
    return bytes;
  } finally {
    client.end();
  }
}

/** Floor 2: the file parsed from disk by the CSV rules every file source uses. */
async function bareParse(file: string): Promise<number> {
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const text = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 }) as AsyncIterable<string>;
  let n = 0;
  const opts = { delimiter: ',', quote: '"', header: true as const, skipEmptyLines: true, relaxColumnCount: false, maxRecordSize: DEFAULT_MAX_RECORD_SIZE, logger: quiet, display: file };
  for await (const r of csvTextRows(text, opts)) if (r.kind === 'row') n++;
  return n;
}

async function sourceRead(config: SftpConfig): Promise<{ records: number; errors: number; rss: number[]; state?: StreamState }> {
  const stream = { name: 'drop', mode: 'incremental' as const, primaryKey: ['id'], config: { path: 'people.csv' } as RemoteStreamConfig };
  let records = 0;
  let errors = 0;
  let state: StreamState | undefined;
  const rss: number[] = [];
  for await (const m of sftpSource.read(benchContext(config), [stream], {})) {
    if (m.type === 'record') records++;
    else if (m.type === 'error') errors++;
    else if (m.type === 'state') {
      state = m.state;
      rss.push(process.memoryUsage().rss / 1_048_576);
    }
  }
  return { records, errors, rss, state };
}

const band = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? `${fmt(s[0])}-${fmt(s[s.length - 1])} MB over ${s.length} checkpoints` : 'n/a';
};

export async function run(args: string[]): Promise<void> {
  const serveAt = arg(args, 'serve', '');
  if (serveAt) return serve(serveAt);
  const rows = arg(args, 'rows', 1_000_000);
  const runs = arg(args, 'runs', 2);
  const root = await mkdtemp(join(tmpdir(), 'tributary-bench-sftp-'));
  let child: ChildProcess | undefined;
  try {
    const file = join(root, 'people.csv');
    const bytes = await writeCsv(file, rows);
    const mb = bytes / 1_048_576;
    const started = await startChild(root);
    child = started.child;
    const s = started.served;
    process.stdout.write(`sftp bench: ${fmt(rows)} rows, ${fmt(mb, 1)} MB, ssh2 SFTP server in a child process on 127.0.0.1:${s.port}; best of ${runs} runs each\n`);
    const config = (spool: boolean) =>
      sftpConfigSchema.parse({ host: '127.0.0.1', port: s.port, username: s.username, password: s.password, hostKey: s.fingerprint, path: '.', ready: 'any', spool });

    const best = async <T>(fn: () => Promise<T>) => {
      let top: { result: T; seconds: number } | undefined;
      for (let i = 0; i < runs; i++) {
        const r = await timed(fn);
        if (!top || r.seconds < top.seconds) top = r;
      }
      return top!;
    };
    const down = await best(() => bareDownload(s, 'people.csv'));
    if (down.result !== bytes) throw new Error(`bare download got ${down.result} of ${bytes} bytes`);
    const parse = await best(() => bareParse(file));
    const rssBefore = process.memoryUsage().rss / 1_048_576;
    const src = await best(() => sourceRead(config(false)));
    if (src.result.records !== rows || src.result.errors !== 0) throw new Error(`source read ${src.result.records} records, ${src.result.errors} errors; expected ${rows}`);
    const spooled = await best(() => sourceRead(config(true)));

    const floor = down.seconds + parse.seconds;
    const line = (label: string, seconds: number, n: number) =>
      `${label.padEnd(32)} ${fmt(seconds, 2).padStart(6)} s  ${fmt(n / seconds).padStart(9)} rows/s  ${fmt(mb / seconds, 1).padStart(6)} MB/s\n`;
    process.stdout.write(line('floor: bare ssh2 download', down.seconds, rows));
    process.stdout.write(line('floor: bare CSV parse from disk', parse.seconds, parse.result));
    process.stdout.write(line('floor: download + parse', floor, rows));
    process.stdout.write(line('sftp source (streamed)', src.seconds, src.result.records));
    process.stdout.write(line('sftp source (spool: true)', spooled.seconds, spooled.result.records));
    const ratio = src.seconds / floor;
    process.stdout.write(
      `ratio source / (download + parse) = ${fmt(ratio, 2)} (target <= 1.50: ${ratio <= 1.5 ? 'met' : 'NOT met'}); spool: ${fmt(spooled.seconds / floor, 2)}\n` +
        `memory: RSS before the source runs ${fmt(rssBefore)} MB; RSS at checkpoints, streamed ${band(src.result.rss)}, spooled ${band(spooled.result.rss)}; ` +
        `peak RSS of this process ${fmt(peakRssMb())} MB (file is ${fmt(mb, 1)} MB)\n`,
    );
  } finally {
    child?.stdin?.end();
    if (child && child.exitCode === null) await new Promise((r) => child!.once('exit', r));
    await rm(root, { recursive: true, force: true });
  }
}
