import { createReadStream, createWriteStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { parse as parseCsv } from 'csv-parse';
import { stringify } from 'yaml';
import { boot } from '../core/container.js';
import type { Logger } from '../core/plugin/types.js';
import { arg, fmt, peakRssMb, timed } from './measure.js';
import { MemProbe } from './mem-probe.js';
import { ThreadStats } from './thread-stats.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

async function writeLines(file: string, lines: Iterable<string>) {
  const out = createWriteStream(file);
  for (const line of lines) if (!out.write(line)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

/**
 * Three sources over one population: a CRM (every customer), orders (by email,
 * ~40% of records), a newsletter (by email, half of the customers, different case).
 */
async function generate(dir: string, total: number) {
  const customers = Math.round(total * 0.4);
  const orders = Math.round(total * 0.4);
  const newsletter = total - customers - orders;
  const first = ['Ann', 'Bob', 'Chloé', 'David', 'Emma', 'Farid', 'Greta', 'Hugo', 'Inès', 'Jon'];
  const last = ['Martin', 'Smith', 'Dubois', 'Müller', 'Rossi', 'García', 'Nguyen', 'Kowalski'];
  await writeLines(
    join(dir, 'crm.csv'),
    (function* () {
      yield 'crm_id,first_name,last_name,email,phone,country,updated_at\n';
      for (let i = 0; i < customers; i++) {
        const phone = `+1415${String(2000000 + (i % 7999999)).padStart(7, '0')}`;
        yield `${i},${first[i % 10]},${last[i % 8]},user${i}@mail-box.net,${phone},US,2026-01-${String(1 + (i % 28)).padStart(2, '0')} 10:00:00\n`;
      }
    })(),
  );
  await writeLines(
    join(dir, 'orders.csv'),
    (function* () {
      yield 'order_id,email,amount,currency,ordered_at\n';
      for (let i = 0; i < orders; i++) {
        const c = (i * 7919) % customers;
        yield `o${i},USER${c}@Mail-Box.net,${(i % 500) + 0.99},EUR,2026-02-${String(1 + (i % 28)).padStart(2, '0')}T12:00:00Z\n`;
      }
    })(),
  );
  await writeLines(
    join(dir, 'newsletter.jsonl'),
    (function* () {
      for (let i = 0; i < newsletter; i++) {
        // Every other subscriber is an existing customer; the rest are new people.
        const email = i % 2 === 0 ? ` user${i}@mail-box.net ` : `reader${i}@reader-mail.net`;
        yield `${JSON.stringify({ id: `n${i}`, email, first_name: first[i % 10], subscribed_at: '2026-03-01T00:00:00Z', consent: 'yes' })}\n`;
      }
    })(),
  );
  return { customers, orders, newsletter };
}

/** The floor: parse the same files with the same libraries and do nothing else. */
async function bareParse(dir: string): Promise<number> {
  let n = 0;
  for (const f of ['crm.csv', 'orders.csv']) {
    const parser = createReadStream(join(dir, f)).pipe(parseCsv({ columns: true, bom: true }));
    for await (const _row of parser) n++;
  }
  const rl = createInterface({ input: createReadStream(join(dir, 'newsletter.jsonl')), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line) {
      JSON.parse(line);
      n++;
    }
  }
  return n;
}

function cpuMicros(u: NodeJS.CpuUsage): number {
  return u.user + u.system;
}

export async function run(args: string[]): Promise<void> {
  const total = arg(args, 'records', 1_000_000);
  const batchSize = arg(args, 'batch', 5000);
  // The store's commit thread (commit-pipeline.ts) writes batch N while batch N+1 is resolved: on by default,
  // as in the product; --no-commit-thread measures one thread (--commit-thread is accepted and changes nothing).
  const commitThread = !args.includes('--no-commit-thread');
  const dir = mkdtempSync(join(tmpdir(), 'trib-bench-pipeline-'));
  try {
    process.stdout.write(`pipeline benchmark: ${fmt(total)} source records, batch ${batchSize}, commit thread ${commitThread ? 'on' : 'off'}, dir ${dir}\n`);
    const gen = await timed(() => generate(dir, total));
    process.stdout.write(`generated crm ${fmt(gen.result.customers)}, orders ${fmt(gen.result.orders)}, newsletter ${fmt(gen.result.newsletter)} in ${gen.seconds.toFixed(1)} s\n`);

    const floorCpu0 = process.cpuUsage();
    const floor = await timed(() => bareParse(dir));
    const floorCpu = cpuMicros(process.cpuUsage(floorCpu0));
    process.stdout.write(
      `bare parse (floor): ${fmt(floor.result)} records in ${floor.seconds.toFixed(2)} s = ${fmt(floor.result / floor.seconds)} records/s, CPU ${(floorCpu / floor.result).toFixed(1)} µs/record\n`,
    );
    const inputBytes = ['crm.csv', 'orders.csv', 'newsletter.jsonl'].reduce((a, f) => a + statSync(join(dir, f)).size, 0);

    const cfgFile = join(dir, 'bench.yaml');
    writeFileSync(
      cfgFile,
      stringify({
        store: { sqlite: join(dir, 'store.db'), commitThread },
        normalize: { defaultRegion: 'US' },
        sources: [
          {
            name: 'crm',
            connector: 'csv',
            batchSize,
            // A batch ends at a checkpoint: without this, --batch below the connector's 5,000 rows changed little.
            config: { checkpointEvery: batchSize },
            streams: [
              {
                name: 'customers',
                primaryKey: 'crm_id',
                config: { path: join(dir, 'crm.csv') },
                mapping: {
                  identifiers: { email: 'email', phone: { field: 'phone', regionField: 'country' }, 'external_id.crm': 'crm_id' },
                  traits: { firstName: 'first_name', lastName: 'last_name' },
                  observedAt: 'updated_at',
                },
              },
            ],
          },
          {
            name: 'shop',
            connector: 'csv',
            batchSize,
            config: { checkpointEvery: batchSize },
            streams: [
              {
                name: 'orders',
                kind: 'track',
                primaryKey: 'order_id',
                config: { path: join(dir, 'orders.csv') },
                mapping: {
                  identifiers: { email: 'email' },
                  observedAt: 'ordered_at',
                  event: { name: 'order_completed', properties: { amount: 'amount' }, revenue: 'amount', currency: 'currency' },
                },
              },
            ],
          },
          {
            name: 'newsletter',
            connector: 'jsonl',
            batchSize,
            config: { checkpointEvery: batchSize },
            streams: [
              {
                name: 'subscribers',
                primaryKey: 'id',
                config: { path: join(dir, 'newsletter.jsonl') },
                mapping: { identifiers: { email: 'email' }, traits: { firstName: 'first_name' }, observedAt: 'subscribed_at', consent: { newsletter: 'consent' } },
              },
            ],
          },
        ],
        privacy: { purposes: ['newsletter'] },
        resolution: { computed: { orders_count: { event: 'order_completed', op: 'count' }, lifetime_value: { event: 'order_completed', op: 'sum', property: 'revenue' } } },
      }),
    );
    const booted = await boot({ configFile: cfgFile, logger: quiet });
    const rssBefore = peakRssMb();
    // --mem: memory breakdown per source (see mem-probe.ts); off by default so the figures stay comparable.
    const probe = args.includes('--mem') ? new MemProbe() : undefined;
    if (probe) process.stdout.write(probe.report('before the pipeline'));
    const perSource: string[] = [];
    const threads = new ThreadStats();
    const cpu0 = process.cpuUsage();
    const all = await timed(async () => {
      let n = 0;
      for (const s of ['crm', 'shop', 'newsletter']) {
        const r = await timed(() => booted.engine.runSync(s, { deliverAfter: false }));
        if (!r.result.ok) throw new Error(`sync ${s} failed: ${r.result.error}`);
        const read = Object.values(r.result.summary!.streams).reduce((a, x) => a + x.read, 0);
        n += read;
        perSource.push(`  ${s}: ${fmt(read)} records in ${r.seconds.toFixed(1)} s = ${fmt(read / r.seconds)} records/s`);
        threads.lap(s, read, booted.store.commitPipeline?.()?.utilization());
        if (probe) process.stdout.write(probe.report(`during ${s}`));
      }
      return n;
    });
    const cpu = cpuMicros(process.cpuUsage(cpu0));
    const profiles = await booted.store.countProfiles();
    const threadStats = booted.store.commitPipeline?.()?.stats;
    const threadsReport = threads.report(all.result, booted.store.commitPipeline?.()?.utilization());
    await booted.close();
    if (probe) {
      process.stdout.write(probe.report('close'));
      probe.stop();
    }
    const storeBytes = ['store.db', 'store.db-wal'].reduce((a, f) => a + (existsSync(join(dir, f)) ? statSync(join(dir, f)).size : 0), 0);
    const rate = all.result / all.seconds;
    process.stdout.write(`${perSource.join('\n')}\n`);
    process.stdout.write(`end to end (read, normalize, resolve, commit): ${fmt(all.result)} records in ${all.seconds.toFixed(1)} s = ${fmt(rate)} records/s\n`);
    process.stdout.write(`CPU (user + system, this process): ${(cpu / 1e6).toFixed(1)} s = ${(cpu / all.result).toFixed(1)} µs/record (bare parse: ${(floorCpu / floor.result).toFixed(1)})\n`);
    process.stdout.write(threadsReport);
    process.stdout.write(`profiles: ${fmt(profiles)}\n`);
    if (threadStats) {
      const waits = Object.entries(threadStats.waits).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
      process.stdout.write(`commit thread: ${fmt(threadStats.batches)} batches; reads that waited for a batch in flight: ${waits} (${fmt(threadStats.waitedMs / 1000, 1)} s); next batch held back ${fmt(threadStats.heldMs / 1000, 1)} s\n`);
    }
    process.stdout.write(`store: ${fmt(storeBytes / 1e6, 1)} MB for ${fmt(inputBytes / 1e6, 1)} MB of input = ${(storeBytes / inputBytes).toFixed(1)}x (target < 5x)\n`);
    process.stdout.write(`ratio end-to-end / bare parse time: ${(all.seconds / floor.seconds).toFixed(1)}x\n`);
    process.stdout.write(`peak RSS: ${fmt(peakRssMb())} MB (before the pipeline: ${fmt(rssBefore)} MB)\n`);
    process.stdout.write(
      `targets: >= 100,000 records/s (${rate >= 100_000 ? 'met' : 'NOT met'}), floor >= 50,000 (${rate >= 50_000 ? 'met' : 'NOT met'}), peak RSS < 1,024 MB (${peakRssMb() < 1024 ? 'met' : 'NOT met'})\n`,
    );
  } finally {
    if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }
}
