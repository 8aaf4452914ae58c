import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { boot } from '../core/container.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/plugin/types.js';
import { arg, fmt, timed } from './measure.js';
import { generateScaleData, writeScaleConfig, type ScaleData, type StoreChoice } from './scale-data.js';
import { loadAverage, schemaWrites, walBytes } from './scale-procs.js';
import { runDistributed, runSingle, type RunFigures } from './scale-run.js';

/**
 * `npm run bench -- scale [--store postgres|sqlite] [--sources 20] [--records 100000] [--workers 1,2,4]
 *  [--batch 5000] [--pg URL] [--redis URL | --private-redis] [--timeout-min 60] [--keep]`
 *
 * Distributed mode end to end: N `tributary worker` processes take one sync job per source from a private
 * BullMQ prefix and write to one shared store (a fresh PostgreSQL schema or SQLite file per run); then the
 * same records in one `tributary sync` process on SQLite. Fails (exit 1) if a job fails, a run reads fewer
 * records than generated, or two runs end with different profile counts. `--private-redis` starts a
 * redis-server of its own on a free port (no persistence), so its CPU and command counts are this bench's alone.
 */

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Whether this build opens `store: { postgres }` (the PostgreSQL store may not be merged yet). */
async function postgresAvailable(dir: string, url: string, schema: string, data: ScaleData): Promise<string | undefined> {
  const file = writeScaleConfig({ file: join(dir, 'probe.yaml'), data: { ...data, files: [] }, store: { postgres: url, schema }, batchSize: 1 });
  try {
    const b = await boot({ configFile: file, logger: quiet });
    await b.store.countProfiles();
    await b.close();
    return undefined;
  } catch (err) {
    return errorMessage(err);
  }
}

function line(r: RunFigures): string {
  const us = (s: number) => `${fmt((s * 1e6) / r.records, 1)} µs/record`;
  const parts = [
    `${r.label}: ${fmt(r.records)} records in ${r.seconds.toFixed(1)} s = ${fmt(r.records / r.seconds)} records/s`,
    `  CPU tributary ${r.workerCpu.toFixed(1)} s (${us(r.workerCpu)}; start to exit ${r.workerCpuWhole.toFixed(1)} s) = ${(r.workerCpu / r.seconds).toFixed(2)} cores on average`,
  ];
  if (r.batches) {
    const share = r.batchMs / 1000 / (r.seconds * r.workers);
    parts.push(`  resolve + commit, lock wait included: ${r.batches} batches, ${(r.batchMs / 1000).toFixed(1)} s summed = ${us(r.batchMs / 1000)} (${(share * 100).toFixed(0)}% of the processes' wall time)`);
  }
  if (r.pgCpu) parts.push(`  CPU PostgreSQL backends ${r.pgCpu.cpu.toFixed(1)} s (${us(r.pgCpu.cpu)}, ${r.pgCpu.backends} backends)`);
  if (r.redis) parts.push(`  Redis (whole server): CPU ${r.redis.cpu.toFixed(1)} s, ${fmt(r.redis.commands)} commands`);
  parts.push(`  machine: ${(r.machineBusy * 100).toFixed(0)}% of 2 cores busy (all users), load average at start ${r.load}; profiles ${fmt(r.profiles)}`);
  return parts.join('\n');
}

export async function run(args: string[]): Promise<void> {
  const sources = arg(args, 'sources', 20);
  const records = arg(args, 'records', 100_000);
  const workerCounts = arg(args, 'workers', '1,2,4').split(',').map(Number);
  const batchSize = arg(args, 'batch', 5000);
  const pgUrl = arg(args, 'pg', 'postgres://postgres@127.0.0.1:5432/test');
  let redisUrl = arg(args, 'redis', 'redis://127.0.0.1:6379');
  let privateRedis: ChildProcess | undefined;
  if (args.includes('--private-redis')) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    privateRedis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    redisUrl = `redis://127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 500));
  }
  const timeoutMs = arg(args, 'timeout-min', 60) * 60_000;
  let storeKind = arg(args, 'store', 'postgres');
  if (storeKind !== 'postgres' && storeKind !== 'sqlite') throw new Error(`--store: expected postgres or sqlite, got ${storeKind}`);
  if (workerCounts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--workers: expected a list like 1,2,4');
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `trib-bench-scale-${tag}-`));
  const schemas: string[] = [];
  const admin = new pg.Client({ connectionString: pgUrl });
  let adminUp = false;
  const results: RunFigures[] = [];
  try {
    const total = sources * records;
    process.stdout.write(`scale benchmark: ${sources} sources x ${fmt(records)} records = ${fmt(total)}, batch ${batchSize}, workers ${workerCounts.join(',')}, dir ${dir}\n`);
    process.stdout.write(`machine: 2 cores, load average ${loadAverage()}; Redis ${privateRedis ? `private server on ${redisUrl}` : redisUrl}\n`);
    const gen = await timed(() => generateScaleData(dir, sources, records));
    const data = gen.result;
    process.stdout.write(`generated ${sources} CSV files over ${fmt(data.population)} people in ${gen.seconds.toFixed(1)} s\n`);
    if (storeKind === 'postgres') {
      await admin.connect();
      adminUp = true;
      const probe = `trib_scale_${tag}_probe`;
      schemas.push(probe);
      const why = await postgresAvailable(dir, pgUrl, probe, data);
      if (why) {
        process.stdout.write(`store postgres is not available in this build (${why}); FALLING BACK to the shared SQLite file (--store sqlite)\n`);
        storeKind = 'sqlite';
      }
    }

    // The single-process figure first: one `tributary sync`, SQLite, no queue.
    const single = writeScaleConfig({ file: join(dir, 'single.yaml'), data, store: { sqlite: join(dir, 'single.db') }, batchSize });
    results.push(await runSingle('sqlite, 1 process (tributary sync, no queue)', single, total));
    process.stdout.write(`${line(results[0])}\n`);
    rmSync(join(dir, 'single.db'), { force: true });

    for (const n of workerCounts) {
      const runTag = `${tag}_w${n}`;
      const store: StoreChoice = storeKind === 'postgres' ? { postgres: pgUrl, schema: `trib_scale_${runTag}` } : { sqlite: join(dir, `dist-${n}.db`) };
      if ('schema' in store) schemas.push(store.schema);
      const configFile = writeScaleConfig({ file: join(dir, `dist-${n}.yaml`), data, store, batchSize, queue: { redis: redisUrl, prefix: `trib-bench-scale-${runTag}` } });
      const wal0 = adminUp && storeKind === 'postgres' ? await walBytes(admin) : 0;
      const r = await runDistributed({
        label: `${storeKind}, ${n} worker${n > 1 ? 's' : ''} (BullMQ)`,
        configFile,
        workers: n,
        sources: data.files.map((_, k) => `src${k}`),
        records: total,
        redisUrl,
        prefix: `trib-bench-scale-${runTag}`,
        pgAdmin: storeKind === 'postgres' ? admin : undefined,
        timeoutMs,
      });
      results.push(r);
      process.stdout.write(`${line(r)}\n`);
      if (r.redis) {
        process.stdout.write(
          `  Redis per sync job: ${fmt(r.redis.commands / sources)} commands, ${fmt((r.redis.cpu * 1000) / sources, 1)} ms CPU; ${fmt(r.redis.commands / r.seconds)} commands/s ` +
            `(${privateRedis ? 'private server: this run alone' : 'shared server: other users included'})\n`,
        );
      }
      if ('schema' in store) {
        // The statistics collector reports with a delay of up to a second.
        await new Promise((res) => setTimeout(res, 1500));
        const w = await schemaWrites(admin, store.schema);
        const wal = (await walBytes(admin)) - wal0;
        process.stdout.write(
          `  PostgreSQL writes: ${fmt(w.inserted)} rows inserted, ${fmt(w.updated)} updated, ${fmt(w.deleted)} deleted = ${fmt((w.inserted + w.updated + w.deleted) / total, 2)} row writes/record; ` +
            `schema ${fmt(w.bytes / 1e6, 1)} MB = ${fmt(w.bytes / total)} B/record; WAL (whole server, other users included) ${fmt(wal / 1e6, 1)} MB = ${fmt(wal / total)} B/record\n`,
        );
        await admin.query(`DROP SCHEMA IF EXISTS "${store.schema}" CASCADE`);
      } else rmSync(store.sqlite, { force: true });
    }

    const dist = results.slice(1);
    const base = dist.find((r) => r.workers === 1) ?? dist[0];
    if (base) {
      const ratios = dist.map((r) => `${r.workers} worker(s) ${fmt(r.records / r.seconds)} records/s = ${(base.seconds / r.seconds).toFixed(2)}x`);
      process.stdout.write(`scaling (${storeKind}, against ${base.workers} worker): ${ratios.join('; ')}\n`);
      process.stdout.write(`single process on SQLite: ${fmt(results[0].records / results[0].seconds)} records/s = ${(results[0].seconds / base.seconds).toFixed(2)}x the time of ${base.workers} worker on ${storeKind}\n`);
    }
    const counts = new Set(results.map((r) => r.profiles));
    if (counts.size !== 1) throw new Error(`profile counts differ between runs: ${results.map((r) => `${r.label}: ${r.profiles}`).join('; ')}`);
    process.stdout.write(`every run: ${fmt(results[0].profiles)} profiles\n`);
  } finally {
    if (adminUp) {
      for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
      await admin.end();
    }
    privateRedis?.kill('SIGTERM');
    if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}
