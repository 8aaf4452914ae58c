import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { once } from 'node:events';
import ftp from 'basic-ftp';
import type { ConnectorContext, Logger } from '../core/plugin/types.js';
import { csvTextRows } from '../connectors/file/text-rows.js';
import { ftpConfigSchema } from '../connectors/ftp/config.js';
import { ftpSource } from '../connectors/ftp/source.js';
import { startProftpd } from '../connectors/ftp/__fixtures__/ftp-servers.js';
import { remoteStreamSchema, type RemoteStreamConfig } from '../connectors/remote-files/config.js';
import { arg, fmt, peakRssMb, timed } from './measure.js';

/**
 * `npm run bench -- ftp [--lines N] [--secure]`: the ftp source reading one
 * N-line CSV (1,000,000 by default) from a local proftpd, against two floors
 * measured in the same run: the bare basic-ftp download of the same file into
 * a sink, and the bare parse of the same file from disk with the project's CSV
 * parser. The source streams download into parse, so its time is compared with
 * their sum (target: within 1.5x) and with the slower of the two.
 */

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function benchContext<C>(config: C): ConnectorContext<C> {
  return { name: 'bench', config, logger: quiet, metrics: { count: () => undefined }, signal: new AbortController().signal };
}

async function writeCsv(path: string, lines: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('id,email,first_name,last_name,city,country,lifetime_value,updated_at\n');
  const cities = ['Lyon', 'Porto', 'Gent', 'Turku', 'Brno'];
  for (let i = 1; i <= lines; i++) {
    const row = `${i},user${i}@example.com,First${i % 977},"Last, ${i % 613}",${cities[i % 5]},FR,${(i % 10000) / 100},2026-11-${String((i % 28) + 1).padStart(2, '0')}T10:00:00Z\n`;
    if (!out.write(row)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export async function run(args: string[]): Promise<void> {
  const lines = arg(args, 'lines', 1_000_000);
  const secure = args.includes('--secure');
  const server = await startProftpd('explicit');
  try {
    const file = join(server.root, 'data.csv');
    await writeCsv(file, lines);
    const bytes = statSync(file).size;
    const mb = bytes / 1_048_576;
    process.stdout.write(`ftp bench: ${fmt(lines)} lines, ${fmt(mb, 1)} MB, proftpd on 127.0.0.1:${server.port}, ${secure ? 'explicit FTPS' : 'plain FTP'}\n`);
    const baseRss = peakRssMb();

    // The source, as the engine reads it: records counted, RSS sampled at each checkpoint.
    const config = ftpConfigSchema.parse({
      host: '127.0.0.1',
      port: server.port,
      username: server.username,
      password: server.password,
      secure,
      caFile: server.caFile,
      ready: 'any',
      checkpointEvery: 10_000,
    });
    const stream = { name: 'data', mode: 'incremental' as const, primaryKey: ['id'], config: { path: 'data.csv' } as RemoteStreamConfig };
    const rss: number[] = [];
    let records = 0;
    let errors = 0;
    const source = await timed(async () => {
      for await (const m of ftpSource.read(benchContext(config), [stream], {})) {
        if (m.type === 'record') records++;
        else if (m.type === 'error') errors++;
        else if (m.type === 'state') rss.push(process.memoryUsage().rss / 1_048_576);
      }
    });
    const sourcePeak = peakRssMb();

    // Floor 1: the bare download of the same file, bytes counted and dropped.
    const client = new ftp.Client(30_000);
    await client.access({ host: '127.0.0.1', port: server.port, user: server.username, password: server.password, secure, secureOptions: { ca: readFileSync(server.caFile) } });
    let downloaded = 0;
    const sink = new Writable({
      highWaterMark: 256 * 1024,
      write(chunk: Buffer, _e, cb) {
        downloaded += chunk.length;
        cb();
      },
    });
    const download = await timed(() => client.downloadTo(sink, 'data.csv'));
    client.close();

    // Floor 2: the bare parse of the same file from disk, with the parser the source uses.
    const streamConfig = remoteStreamSchema.parse({ path: 'data.csv' });
    let parsed = 0;
    const parse = await timed(async () => {
      const text = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
      for await (const row of csvTextRows(text as AsyncIterable<string>, { ...streamConfig, logger: quiet, display: file })) if (row.kind === 'row') parsed++;
    });

    const sorted = [...rss].sort((a, b) => a - b);
    const band = sorted.length ? `${fmt(sorted[Math.floor(sorted.length * 0.1)])}-${fmt(sorted[sorted.length - 1])} MB` : 'n/a';
    const floorSum = download.seconds + parse.seconds;
    const floorMax = Math.max(download.seconds, parse.seconds);
    const ratio = source.seconds / floorSum;
    process.stdout.write(
      `source ftp:      ${fmt(records)} records (${errors} errors) in ${fmt(source.seconds, 2)} s = ${fmt(records / source.seconds)} rows/s, ${fmt(mb / source.seconds, 1)} MB/s\n` +
        `                 RSS at checkpoints (p10-max) ${band}, peak RSS ${fmt(sourcePeak)} MB (${fmt(baseRss)} MB before the read)\n` +
        `floor download:  ${fmt(downloaded / 1_048_576, 1)} MB in ${fmt(download.seconds, 2)} s = ${fmt(mb / download.seconds, 1)} MB/s (basic-ftp downloadTo, bytes dropped)\n` +
        `floor parse:     ${fmt(parsed)} rows in ${fmt(parse.seconds, 2)} s = ${fmt(parsed / parse.seconds)} rows/s (csvTextRows over the file on disk)\n` +
        `ratio:           source / (download + parse) = ${fmt(ratio, 2)}x (target <= 1.50x: ${ratio <= 1.5 ? 'met' : 'NOT met'}); ` +
        `source / max(download, parse) = ${fmt(source.seconds / floorMax, 2)}x\n`,
    );
    if (records !== lines || downloaded !== bytes || parsed !== lines) {
      process.stdout.write(`MISMATCH: expected ${lines} rows and ${bytes} bytes\n`);
      process.exitCode = 1;
    }
  } finally {
    await server.close();
  }
}
