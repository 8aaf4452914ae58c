import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ConfiguredStream } from '../core/plugin/types.js';
import { httpConfigSchema } from '../connectors/http/config.js';
import { createHttpSource } from '../connectors/http/source.js';
import { benchContext } from './mysql.js';
import { arg, fmt, peakRssMb, timed } from './measure.js';

/**
 * `npm run bench -- http [--records 200000] [--page 100] [--runs 3]`: the http
 * source paging through a local API (node:http in a child process, so the
 * server does not share this process's event loop; page bodies are built once
 * and cached, so the server's cost is the same for both clients), against the
 * floor measured in the same run: bare `fetch` + JSON parse of the same pages,
 * one after another as the source does.
 */

/** Child mode: serve `records` records at `page` a page, print the port, live until stdin closes. */
async function serve(records: number, page: number): Promise<void> {
  const cache = new Map<number, string>();
  const body = (p: number) => {
    let b = cache.get(p);
    if (b === undefined) {
      const data = [];
      for (let id = (p - 1) * page + 1; id <= Math.min(records, p * page); id++) {
        const at = new Date(Date.UTC(2026, 0, 1) + id * 1000).toISOString();
        data.push({ id, email: `user${id}@example.org`, first_name: `First${id % 977}`, last_name: `Last${id % 313}`, city: `City ${id % 101}`, updated_at: at });
      }
      b = JSON.stringify({ data, total: records, page: p });
      cache.set(p, b);
    }
    return b;
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = Math.max(1, Number(url.searchParams.get('page') ?? '1'));
    const b = body(p);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) });
    res.end(b);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
  server.close();
  server.closeAllConnections();
  process.exit(0);
}

async function startChild(records: number, page: number): Promise<{ child: ChildProcess; port: number }> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'http', '--serve', '1', '--records', String(records), '--page', String(page)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`http server child exited with ${code}`)));
  });
  return { child, port: Number(line) };
}

async function bareFetch(base: string, page: number): Promise<{ records: number; requests: number }> {
  let records = 0;
  let requests = 0;
  for (let p = 1; ; p++) {
    const res = await fetch(`${base}/records?page=${p}&per_page=${page}`, { headers: { accept: 'application/json' } });
    const body = (await res.json()) as { data: unknown[]; total: number };
    requests++;
    records += body.data.length;
    if (body.data.length === 0 || records >= body.total) return { records, requests };
  }
}

async function sourceRead(base: string, page: number): Promise<{ records: number; requests: number; rss: number[] }> {
  const config = httpConfigSchema.parse({
    baseUrl: base,
    streams: {
      records: {
        path: '/records',
        query: { updated_since: '{{ state.cursor }}' },
        recordSelector: 'data',
        paginator: { type: 'page', sizeParam: 'per_page', size: page, totalPath: 'total' },
        primaryKey: ['id'],
        cursorField: 'updated_at',
      },
    },
  });
  const stream: ConfiguredStream<Record<string, never>> = { name: 'records', mode: 'incremental', cursorField: 'updated_at', primaryKey: ['id'], config: {} };
  const ctx = benchContext(config);
  let requests = 0;
  const metrics = { count: (name: string, n = 1) => void (name === 'http_requests' && (requests += n)) };
  let records = 0;
  const rss: number[] = [];
  for await (const m of createHttpSource().read({ ...ctx, metrics }, [stream], {})) {
    if (m.type === 'record') records++;
    else if (m.type === 'state' && records % (page * 100) === 0) rss.push(process.memoryUsage().rss / 1_048_576);
  }
  return { records, requests, rss };
}

export async function run(args: string[]): Promise<void> {
  const records = arg(args, 'records', 200_000);
  const page = arg(args, 'page', 100);
  if (arg(args, 'serve', '')) return serve(records, page);
  const runs = arg(args, 'runs', 3);
  const { child, port } = await startChild(records, page);
  try {
    const base = `http://127.0.0.1:${port}`;
    // Warm the server's page cache, so neither client pays for building the bodies.
    await bareFetch(base, page);
    process.stdout.write(`http bench: ${fmt(records)} records at ${page} a page, node:http server in a child process on 127.0.0.1:${port}; best of ${runs} runs each\n`);
    const best = async <T>(fn: () => Promise<T>) => {
      let top: { result: T; seconds: number } | undefined;
      for (let i = 0; i < runs; i++) {
        const r = await timed(fn);
        if (!top || r.seconds < top.seconds) top = r;
      }
      return top!;
    };
    const bare = await best(() => bareFetch(base, page));
    const src = await best(() => sourceRead(base, page));
    if (src.result.records !== records) throw new Error(`source read ${src.result.records} records, expected ${records}`);
    const line = (label: string, seconds: number, r: { records: number; requests: number }) =>
      `${label.padEnd(28)} ${fmt(seconds, 2).padStart(6)} s  ${fmt(r.records / seconds).padStart(9)} records/s  ${fmt(r.requests / seconds, 1).padStart(7)} requests/s  (${fmt(r.requests)} requests)\n`;
    process.stdout.write(line('floor: bare fetch + JSON', bare.seconds, bare.result));
    process.stdout.write(line('http source', src.seconds, src.result));
    const sorted = [...src.result.rss].sort((a, b) => a - b);
    process.stdout.write(
      `ratio source / bare fetch = ${fmt(src.seconds / bare.seconds, 2)}; RSS during the source read ${fmt(sorted[0] ?? 0)}-${fmt(sorted.at(-1) ?? 0)} MB; peak RSS ${fmt(peakRssMb())} MB\n`,
    );
  } finally {
    child.stdin?.end();
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
}
