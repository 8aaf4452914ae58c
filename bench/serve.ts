import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { boot } from '../core/container.js';
import type { Logger } from '../core/plugin/types.js';
import { WRITE_KEY, trackingConfig } from '../core/serve/__fixtures__/tracking-config.js';
import { arg, fmt, timed } from './measure.js';

/**
 * `npm run bench -- serve [--seconds N] [--connections N] [--durability fsync|process] [--ids seq|uuid] [--drain no] [--only single|batch] [--fastify no]`: load from this
 * process (autocannon) against `tributary serve` running as a child process
 * with durable writes (group commit, synchronous=FULL), and in the same run
 * against a bare node:http child answering 200 without storing (the floor),
 * and a bare fastify 5 child doing the same after parsing the JSON body.
 * Two shapes: single-event `POST /v1/track`, and `POST /v1/batch` of 100 events.
 * Then the drain: one sync of the tracking source turns the stored events into
 * profiles, timed.
 */

interface Autocannon {
  (opts: Record<string, unknown>): Promise<AutocannonResult>;
}
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

const require = createRequire(import.meta.url);
const autocannon = require('autocannon') as Autocannon;
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'core', 'cli', 'main.js');
const quiet: Logger = { debug() {}, info() {}, warn() {}, error: (m) => void process.stderr.write(`${m}\n`) };

/** The floor: node:http reading the body and answering 200, storing nothing. */
const BARE = `
const http = require('node:http');
const s = http.createServer((req, res) => { const c = []; req.on('data', (d) => c.push(d)); req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":true}'); }); });
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
process.on('SIGTERM', () => s.close(() => process.exit(0)));
`;

/**
 * The framework the issue names: fastify 5 with its JSON body parser, answering
 * 200 and storing nothing. Whether node:http is the faster base is measured by
 * comparing this with BARE (and with tributary serve, which parses and stores too).
 */
const FASTIFY = (entry: string) => `
const app = require(${JSON.stringify(entry)})({ logger: false, bodyLimit: 512 * 1024 });
const ok = async () => ({ ok: true });
app.post('/v1/track', ok);
app.post('/v1/batch', ok);
app.listen({ port: 0, host: '127.0.0.1' }).then(() => process.stdout.write(String(app.server.address().port) + '\\n'));
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
`;

function child(args: string[], env: NodeJS.ProcessEnv, portFrom: 'stdout' | 'stderr'): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    let text = '';
    const stream = portFrom === 'stdout' ? proc.stdout! : proc.stderr!;
    stream.on('data', (d: Buffer) => {
      text += d.toString();
      const m = portFrom === 'stdout' ? /^(\d+)\n/.exec(text) : /"msg":"serve listening[^\n]*"port":(\d+)/.exec(text);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.once('exit', (code) => reject(new Error(`child exited (${code}) before listening: ${text}`)));
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await exited;
}

// autocannon 8.0.0's idReplacement puts one id in every tag and miscounts Content-Length
// (the server waits for bytes that never come), so each request body is built in setupRequest.
let counter = 0;
// `--ids uuid`: random messageIds as analytics SDKs send them (the de-duplication index then takes random inserts).
let uuidIds = false;
const nextId = () => (uuidIds ? randomUUID() : `${process.pid}-${(counter++).toString(36)}`);
/** 20,000 visitors, each sending several events: the drain stitches events onto existing profiles, as a shop's traffic does. */
const user = () => `u-${Math.floor(Math.random() * 20_000)}`;
const single = () => JSON.stringify({ userId: user(), event: 'Product Viewed', messageId: nextId(), properties: { sku: 'SKU-1', price: 19.9 } });
const batch100 = () =>
  JSON.stringify({ batch: Array.from({ length: 100 }, (_, i) => ({ type: 'track', userId: user(), event: 'Product Viewed', messageId: nextId(), properties: { sku: `SKU-${i}`, price: 19.9 } })) });

async function load(port: number, path: string, body: () => string, seconds: number, connections: number): Promise<AutocannonResult> {
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}` },
        setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body() }),
      },
    ],
  });
}

function line(label: string, r: AutocannonResult, eventsPer: number): { rps: number; eps: number; p99: number } {
  const rps = r['2xx'] / r.duration;
  const eps = rps * eventsPer;
  process.stdout.write(
    `${label.padEnd(34)} ${fmt(rps).padStart(7)} req/s  ${fmt(eps).padStart(8)} events/s  p50 ${fmt(r.latency.p50, 1)} ms  p99 ${fmt(r.latency.p99, 1)} ms` +
      `  (2xx ${fmt(r['2xx'])}, other ${fmt(r.non2xx)}, errors ${fmt(r.errors)})\n`,
  );
  return { rps, eps, p99: r.latency.p99 };
}

export async function run(args: string[]): Promise<void> {
  const seconds = arg(args, 'seconds', 10);
  const connections = arg(args, 'connections', 32);
  const durability = arg(args, 'durability', 'fsync');
  // `--drain no` skips the drain (another engineer's pipeline) when only the HTTP path is measured.
  const drain = arg(args, 'drain', 'yes') !== 'no';
  // `--only single|batch` runs one shape (for CPU profiles of one path).
  const only = arg(args, 'only', 'both');
  uuidIds = arg(args, 'ids', 'seq') === 'uuid';
  // `--fastify no` skips the bare-fastify comparison.
  const withFastify = arg(args, 'fastify', 'yes') !== 'no';
  const { dir, file } = trackingConfig({ serve: { port: 0, flushMs: 2, durability } });
  process.stdout.write(`serve benchmark: durability ${durability}, ${uuidIds ? 'random UUID' : 'sequential'} messageIds, ${seconds} s per run, ${connections} connections, autocannon in this process, servers in child processes\n`);
  try {
    const none = { rps: NaN, eps: NaN, p99: NaN };
    const bare = await child(['-e', BARE], {}, 'stdout');
    const floorRun = async (label: string, path: string, body: () => string, per: number): Promise<Figures> => {
      const cpu = threadCpu(bare.proc.pid!);
      const r = await load(bare.port, path, body, seconds, connections);
      const f = line(label, r, per);
      cpuPerEvent(cpu, threadCpu(bare.proc.pid!), r['2xx'] * per);
      return f;
    };
    const floorSingle = only !== 'batch' ? await floorRun('floor (bare node:http) single', '/v1/track', single, 1) : none;
    const floorBatch = only !== 'single' ? await floorRun('floor (bare node:http) batch/100', '/v1/batch', batch100, 100) : none;
    await stop(bare.proc);
    if (withFastify) {
      // The same two shapes against bare fastify (JSON parsed, nothing stored): is a framework base faster than node:http?
      const fast = await child(['-e', FASTIFY(require.resolve('fastify'))], {}, 'stdout');
      const run = async (label: string, path: string, body: () => string, per: number) => {
        const cpu = threadCpu(fast.proc.pid!);
        const r = await load(fast.port, path, body, seconds, connections);
        line(label, r, per);
        cpuPerEvent(cpu, threadCpu(fast.proc.pid!), r['2xx'] * per);
      };
      if (only !== 'batch') await run('bare fastify 5 single', '/v1/track', single, 1);
      if (only !== 'single') await run('bare fastify 5 batch/100', '/v1/batch', batch100, 100);
      await stop(fast.proc);
    }

    // SERVE_NODE_OPTIONS (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof) goes to the server process only.
    const serveArgs = [...(process.env.SERVE_NODE_OPTIONS?.split(' ').filter(Boolean) ?? []), CLI, '--json-logs', 'serve', '--config', file, '--port', '0'];
    const serve = await child(serveArgs, { WEB_WRITE_KEY: WRITE_KEY }, 'stderr');
    let s = none;
    let b = none;
    if (only !== 'batch') {
      const cpu = threadCpu(serve.proc.pid!);
      const r = await load(serve.port, '/v1/track', single, seconds, connections);
      s = line('tributary serve single (durable)', r, 1);
      cpuPerEvent(cpu, threadCpu(serve.proc.pid!), r['2xx']);
      await commitSizes(serve.port, 'single');
    }
    if (only !== 'single') {
      const cpu = threadCpu(serve.proc.pid!);
      const r = await load(serve.port, '/v1/batch', batch100, seconds, connections);
      b = line('tributary serve batch/100 (durable)', r, 100);
      cpuPerEvent(cpu, threadCpu(serve.proc.pid!), r['2xx'] * 100);
      await commitSizes(serve.port, 'single + batch');
    }
    await stop(serve.proc);
    if (!drain) {
      process.stdout.write(targets(s, b, floorSingle, floorBatch, NaN));
      return;
    }

    const booted = await boot({ configFile: file, logger: quiet, env: { ...process.env, WEB_WRITE_KEY: WRITE_KEY } });
    let drained = 0;
    let drainSeconds = 0;
    try {
      const { result, seconds: took } = await timed(() => booted.engine.runSync('web'));
      drained = Object.values(result.summary?.streams ?? {}).reduce((a, st) => a + st.read, 0);
      drainSeconds = took;
      process.stdout.write(`drain into profiles: ${fmt(drained)} events in ${fmt(took, 1)} s = ${fmt(drained / took)} events/s; profiles ${fmt(await booted.store.countProfiles())}${result.ok ? '' : `; FAILED: ${result.error}`}\n`);
    } finally {
      await booted.close();
    }
    process.stdout.write(targets(s, b, floorSingle, floorBatch, drained / drainSeconds));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Figures = { rps: number; eps: number; p99: number };

function targets(s: Figures, b: Figures, floorSingle: Figures, floorBatch: Figures, drainRate: number): string {
  return (
      `\ntargets (2 cores): single >= 10,000 req/s: ${fmt(s.rps)} (${s.rps >= 10_000 ? 'met' : 'NOT met'}; floor ${fmt(floorSingle.rps)}, ${fmt((100 * s.rps) / floorSingle.rps)}% of it)\n` +
        `  batch/100 >= 50,000 events/s: ${fmt(b.eps)} (${b.eps >= 50_000 ? 'met' : 'NOT met'}; floor ${fmt(floorBatch.eps)}, ${fmt((100 * b.eps) / floorBatch.eps)}% of it)\n` +
        `  p99 < 25 ms: single ${fmt(s.p99, 1)} ms, batch ${fmt(b.p99, 1)} ms (${s.p99 < 25 && b.p99 < 25 ? 'met' : 'NOT met'})\n` +
        `  drain >= 20,000 events/s: ${Number.isNaN(drainRate) ? 'not run (--drain no)' : `${fmt(drainRate)} (${drainRate >= 20_000 ? 'met' : 'NOT met'})`}\n`
  );
}

/**
 * CPU seconds (user + system) of each thread of a process, by thread name, from /proc
 * (Linux): a figure that load from other processes on the machine does not change much.
 */
function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14 and 15 (utime, stime) are at 11 and 12 once pid and name are cut off; clock ticks of 10 ms.
      const key = tid === String(pid) ? 'main' : name === 'node' ? 'other threads (inbox writer, V8 helpers)' : name;
      out.set(key, (out.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    }
  } catch {
    // Not Linux: no per-thread figures.
  }
  return out;
}

function cpuPerEvent(before: Map<string, number>, after: Map<string, number>, events: number): void {
  if (!events || !after.size) return;
  let total = 0;
  const parts = [...after].map(([name, t]) => {
    const d = t - (before.get(name) ?? 0);
    total += d;
    return { name, d };
  }).filter((p) => p.d >= 0.05).map((p) => `${p.name} ${fmt((p.d * 1e6) / events, 1)}`);
  process.stdout.write(`  server CPU per event: ${fmt((total * 1e6) / events, 1)} us (by thread, us: ${parts.join(', ')})\n`);
}

/** How many events each commit held (the server's histogram): do groups form? */
async function commitSizes(port: number, label: string): Promise<void> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const buckets = [...text.matchAll(/^tributary_inbox_commit_events_bucket\{le="([^"]+)"\} (\d+)/gm)].map((m) => ({ le: m[1], n: Number(m[2]) }));
  const count = Number(/^tributary_inbox_commit_events_count (\d+)/m.exec(text)?.[1] ?? 0);
  const sum = Number(/^tributary_inbox_commit_events_sum (\S+)/m.exec(text)?.[1] ?? 0);
  if (!count) return void process.stdout.write(`  commits (${label}): none counted\n`);
  let prev = 0;
  const parts = buckets.map(({ le, n }) => {
    const here = n - prev;
    prev = n;
    return `<=${le}: ${fmt((100 * here) / count)}%`;
  });
  process.stdout.write(`  commits (${label}, cumulative): ${fmt(count)}, mean ${fmt(sum / count, 1)} events each; ${parts.join(', ')}\n`);
}
