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
import { readRemoteStreams } from '../connectors/remote-files/read-remote.js';
import type { RemoteSession } from '../connectors/remote-files/remote-fs.js';
import { arg, fmt, peakRssMb, timed } from './measure.js';

/**
 * `npm run bench -- ftp [--lines N] [--runs N] [--secure]`: the ftp source reading one
 * N-line CSV (1,000,000 by default) from a local proftpd, against two floors
 * measured in the same run: the bare basic-ftp download of the same file into
 * a sink, and the bare parse of the same file from disk with the project's CSV
 * parser. The source streams download into parse, so its time is compared with
 * their sum (target: within 1.5x). Each of the three runs `--runs` times
 * (3), interleaved; best and median are printed, the median judged.
 */

const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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
  const runs = arg(args, 'runs', 3);
  const server = await startProftpd('explicit');
  try {
    const file = join(server.root, 'data.csv');
    await writeCsv(file, lines);
    const bytes = statSync(file).size;
    const mb = bytes / 1_048_576;
    process.stdout.write(`ftp bench: ${fmt(lines)} lines, ${fmt(mb, 1)} MB, proftpd on 127.0.0.1:${server.port}, ${secure ? 'explicit FTPS' : 'plain FTP'}\n`);
    const baseRss = peakRssMb();

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
    const streamConfig = remoteStreamSchema.parse({ path: 'data.csv' });
    const rss: number[] = [];
    const times = { source: [] as number[], download: [] as number[], parse: [] as number[], loop: [] as number[] };
    let records = 0;
    let errors = 0;
    let downloaded = 0;
    let parsed = 0;
    let sourcePeak = 0;
    // Rounds alternate the three measurements so load from other processes on the machine falls on all of them.
    for (let round = 0; round < runs; round++) {
      // The source, as the engine reads it: records counted, RSS sampled at each checkpoint.
      records = errors = 0;
      const source = await timed(async () => {
        for await (const m of ftpSource.read(benchContext(config), [stream], {})) {
          if (m.type === 'record') records++;
          else if (m.type === 'error') errors++;
          else if (m.type === 'state') rss.push(process.memoryUsage().rss / 1_048_576);
        }
      });
      times.source.push(source.seconds);
      if (round === 0) sourcePeak = peakRssMb();

      // Floor 1: the bare download of the same file, bytes counted and dropped.
      const client = new ftp.Client(30_000);
      await client.access({ host: '127.0.0.1', port: server.port, user: server.username, password: server.password, secure, secureOptions: { ca: readFileSync(server.caFile) } });
      downloaded = 0;
      const sink = new Writable({
        highWaterMark: 256 * 1024,
        write(chunk: Buffer, _e, cb) {
          downloaded += chunk.length;
          cb();
        },
      });
      times.download.push((await timed(() => client.downloadTo(sink, 'data.csv'))).seconds);
      client.close();

      // Floor 2: the bare parse of the same file from disk, with the parser the source uses.
      parsed = 0;
      const parse = await timed(async () => {
        const text = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 });
        for await (const row of csvTextRows(text as AsyncIterable<string>, { ...streamConfig, logger: quiet, display: file })) if (row.kind === 'row') parsed++;
      });
      times.parse.push(parse.seconds);

      // Reference: the shared remote-file loop over the same file on disk (no FTP), to tell the FTP part from the loop's own cost.
      const local: RemoteSession = {
        list: async () => [{ name: 'data.csv', size: bytes, mtimeMs: 0, isFile: true }],
        read: (_p, start, end) => createReadStream(file, { start, end: end - 1, highWaterMark: 256 * 1024 }),
        rename: async () => undefined,
        mkdir: async () => undefined,
        classify: () => 'other',
        close: async () => undefined,
      };
      let looped = 0;
      const loop = await timed(async () => {
        const parsedStream = { ...stream, config: streamConfig };
        for await (const m of readRemoteStreams(benchContext(config), [parsedStream], {}, { connect: async () => local, display: (p) => p })) if (m.type === 'record') looped++;
      });
      if (looped !== lines) process.stdout.write(`MISMATCH: the local loop read ${looped} rows\n`);
      times.loop.push(loop.seconds);
    }
    const best = { source: Math.min(...times.source), download: Math.min(...times.download), parse: Math.min(...times.parse), loop: Math.min(...times.loop) };
    const median = { source: mid(times.source), download: mid(times.download), parse: mid(times.parse), loop: mid(times.loop) };
    const list = (xs: number[]) => xs.map((x) => fmt(x, 2)).join(' / ');
    const sorted = [...rss].sort((a, b) => a - b);
    const band = sorted.length ? `${fmt(sorted[Math.floor(sorted.length * 0.1)])}-${fmt(sorted[sorted.length - 1])} MB` : 'n/a';
    const ratio = (t: typeof best) => t.source / (t.download + t.parse);
    process.stdout.write(
      `runs: ${runs} (seconds per run: source ${list(times.source)}; download ${list(times.download)}; parse ${list(times.parse)}; local loop ${list(times.loop)})\n` +
        `source ftp:      ${fmt(records)} records (${errors} errors), best ${fmt(best.source, 2)} s = ${fmt(records / best.source)} rows/s, ${fmt(mb / best.source, 1)} MB/s; median ${fmt(median.source, 2)} s = ${fmt(records / median.source)} rows/s\n` +
        `                 RSS at checkpoints (p10-max) ${band}, peak RSS ${fmt(sourcePeak)} MB after the first read (${fmt(baseRss)} MB before it)\n` +
        `floor download:  ${fmt(downloaded / 1_048_576, 1)} MB, best ${fmt(best.download, 2)} s = ${fmt(mb / best.download, 1)} MB/s (basic-ftp downloadTo, bytes dropped)\n` +
        `floor parse:     ${fmt(parsed)} rows, best ${fmt(best.parse, 2)} s = ${fmt(parsed / best.parse)} rows/s (csvTextRows over the file on disk)\n` +
        `reference:       the shared read loop over the file on disk (no FTP): best ${fmt(best.loop, 2)} s, median ${fmt(median.loop, 2)} s = ${fmt(median.loop / median.parse, 2)}x the bare parse; ` +
        `FTP adds ${fmt(median.source - median.loop, 2)} s to it (median)\n` +
        `ratio:           source / (download + parse) = ${fmt(ratio(best), 2)}x best, ${fmt(ratio(median), 2)}x median ` +
        `(target <= 1.50x: ${ratio(median) <= 1.5 ? 'met' : 'NOT met'} on the median)\n`,
    );
    if (records !== lines || downloaded !== bytes || parsed !== lines) {
      process.stdout.write(`MISMATCH: expected ${lines} rows and ${bytes} bytes\n`);
      process.exitCode = 1;
    }
  } finally {
    await server.close();
  }
}
