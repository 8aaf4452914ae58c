import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolutionSchema } from '../core/config/schema.js';
import { DeterministicResolver } from '../core/resolution/deterministic.js';
import type { CanonicalRecord } from '../core/schema/canonical.js';
import { identifierKey } from '../core/schema/canonical.js';
import { SqliteStore } from '../core/store/sqlite-store.js';
import { arg, fmt, peakRssMb, timed } from './measure.js';

/**
 * 1M identify records with 2-3 identifiers each; ~30% are further records of an
 * existing person (same email or phone, sometimes a new second identifier).
 */
function* records(n: number, offset = 0): Generator<CanonicalRecord> {
  const people = Math.round(n * 0.7);
  for (let i = offset; i < offset + n; i++) {
    const dup = i - offset >= people;
    // A duplicate points at an earlier person by a multiplicative hash, so merges scatter across the store.
    const p = dup ? offset + ((i * 2654435761) % people) : i;
    const ids = [{ type: 'email', value: `person${p}@mail-box.net` }];
    if (!dup || i % 3 === 0) ids.push({ type: 'phone', value: `+1415${String(2000000 + (p % 7999999)).padStart(7, '0')}` });
    if (!dup && p % 2 === 0) ids.push({ type: 'external_id', value: `c${p}`, namespace: 'crm' } as never);
    if (dup && i % 5 === 0) ids.push({ type: 'email', value: `work${p}@corp-mail.net` });
    yield {
      kind: 'identify',
      source: 'bench',
      stream: 'people',
      recordId: String(i),
      observedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      identifiers: ids,
      traits: { firstName: `F${p}`, city: p % 3 ? 'Lyon' : 'Paris' },
    };
  }
}

/** The floor: union-find over the same identifier keys, in memory, nothing else. */
function bareUnionFind(n: number): number {
  const parent: number[] = [];
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const owner = new Map<string, number>();
  let i = 0;
  for (const r of records(n)) {
    parent[i] = i;
    for (const id of r.identifiers) {
      const k = identifierKey(id);
      const o = owner.get(k);
      if (o === undefined) owner.set(k, i);
      else {
        const a = find(o);
        const b = find(i);
        if (a !== b) parent[b] = a;
      }
    }
    i++;
  }
  const roots = new Set<number>();
  for (let j = 0; j < i; j++) roots.add(find(j));
  return roots.size;
}

async function resolveAll(store: SqliteStore, gen: Iterable<CanonicalRecord>, batchSize: number) {
  const resolver = new DeterministicResolver();
  let ids = 0;
  const ctx = {
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    rules: resolutionSchema.parse({}),
    now: () => new Date(),
    newProfileId: () => `p${(++ids).toString(36)}`,
  };
  let batch: CanonicalRecord[] = [];
  let resolveSeconds = 0;
  let commitSeconds = 0;
  const flush = async () => {
    const r = await timed(() => resolver.resolve(ctx, batch, store));
    const c = await timed(() => store.commitBatch({ sync: 'bench', records: batch, resolution: r.result, deadLetters: [], checkpoints: [], destinations: [] }));
    resolveSeconds += r.seconds;
    commitSeconds += c.seconds;
    batch = [];
  };
  for (const rec of gen) {
    batch.push(rec);
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length) await flush();
  return { resolveSeconds, commitSeconds };
}

/** Wall and CPU (user + system of this process) seconds of one step. */
async function measured<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t = await timed(fn);
  const c = process.cpuUsage(cpu0);
  return { ...t, cpu: (c.user + c.system) / 1e6 };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap bytes per identifier of a cold-loaded graph cache (needs --expose-gc), or undefined. */
async function graphCacheBytes(file: string): Promise<{ perIdentifier: number; identifiers: number; loadSeconds: number } | undefined> {
  if (!gc) return undefined;
  const store = new SqliteStore(file, { graphCache: true });
  try {
    gc();
    const before = process.memoryUsage().heapUsed;
    const load = await timed(() => store.lookupIdentifiers(['email\u0000nobody@example.com']));
    gc();
    const after = process.memoryUsage().heapUsed;
    const identifiers = store.graphCacheStats()?.identifiers ?? 0;
    return identifiers ? { perIdentifier: (after - before) / identifiers, identifiers, loadSeconds: load.seconds } : undefined;
  } finally {
    await store.close();
  }
}

export async function run(args: string[]): Promise<void> {
  const n = arg(args, 'records', 1_000_000);
  const inc = arg(args, 'incremental', 10_000);
  const batchSize = arg(args, 'batch', 5000);
  const dir = mkdtempSync(join(tmpdir(), 'trib-bench-resolve-'));
  const us = (cpu: number, records: number) => `${fmt((cpu * 1e6) / records, 1)} µs/record`;
  try {
    const cache = process.env.TRIB_GRAPH_CACHE === '1' ? 'on (TRIB_GRAPH_CACHE=1)' : 'off (TRIB_GRAPH_CACHE=1 turns it on)';
    process.stdout.write(`resolve benchmark: ${fmt(n)} records (~30% duplicates), then ${fmt(inc)} incremental; batch ${batchSize}; graph cache ${cache}\n`);
    const floor = await measured(async () => bareUnionFind(n));
    process.stdout.write(`bare in-memory union-find (floor): ${floor.seconds.toFixed(2)} s, CPU ${floor.cpu.toFixed(2)} s = ${us(floor.cpu, n)}, ${fmt(floor.result)} clusters\n`);

    const mem = new SqliteStore(':memory:');
    const full = await measured(() => resolveAll(mem, records(n), batchSize));
    const profiles = await mem.countProfiles();
    process.stdout.write(
      `full resolution, in-memory SQLite store: ${full.seconds.toFixed(1)} s (resolver ${full.result.resolveSeconds.toFixed(1)} s, commit ${full.result.commitSeconds.toFixed(1)} s), CPU ${full.cpu.toFixed(1)} s = ${us(full.cpu, n)}, ${fmt(profiles)} profiles, ${fmt(n / full.seconds)} records/s\n`,
    );
    const ratio = full.seconds / floor.seconds;
    const cpuRatio = full.cpu / floor.cpu;
    process.stdout.write(
      `ratio full / floor: ${ratio.toFixed(1)}x wall, ${cpuRatio.toFixed(1)}x CPU (resolver decisions alone: ${(full.result.resolveSeconds / floor.seconds).toFixed(1)}x wall)\n`,
    );
    const incMem = await measured(() => resolveAll(mem, records(inc, n), batchSize));
    process.stdout.write(`incremental ${fmt(inc)} onto ${fmt(n)} (in-memory store): ${incMem.seconds.toFixed(2)} s, CPU ${incMem.cpu.toFixed(2)} s = ${us(incMem.cpu, inc)}\n`);
    await mem.close();

    const file = new SqliteStore(join(dir, 'resolve.db'));
    const onDisk = await measured(() => resolveAll(file, records(n), batchSize));
    process.stdout.write(`full resolution, SQLite file store: ${onDisk.seconds.toFixed(1)} s = ${fmt(n / onDisk.seconds)} records/s, CPU ${us(onDisk.cpu, n)}\n`);
    const incDisk = await measured(() => resolveAll(file, records(inc, n), batchSize));
    process.stdout.write(`incremental ${fmt(inc)} onto ${fmt(n)} (file store): ${incDisk.seconds.toFixed(2)} s, CPU ${incDisk.cpu.toFixed(2)} s = ${us(incDisk.cpu, inc)}\n`);
    const stats = file.graphCacheStats();
    if (stats) process.stdout.write(`graph cache (file store): ${stats.loads} load(s), ${fmt(stats.applied)} batches applied after commit, ${fmt(stats.hits)} reads from memory, ${fmt(stats.misses)} from SQL\n`);
    await file.close();
    const bytes = await graphCacheBytes(join(dir, 'resolve.db'));
    if (bytes) {
      process.stdout.write(
        `graph cache cold load: ${fmt(bytes.identifiers)} identifiers in ${bytes.loadSeconds.toFixed(2)} s, ${fmt(bytes.perIdentifier)} heap bytes per identifier (with presenters and profile slots)\n`,
      );
    }
    process.stdout.write(`peak RSS: ${fmt(peakRssMb())} MB\n`);
    const met = (ok: boolean) => (ok ? 'met' : 'NOT met');
    process.stdout.write(
      `targets: full <= 2x floor (${met(ratio <= 2)} wall ${ratio.toFixed(1)}x; CPU ${cpuRatio.toFixed(1)}x), incremental ${fmt(inc)} onto ${fmt(n)} < 0.5 s (in-memory ${met(incMem.seconds < 0.5)} ${incMem.seconds.toFixed(2)} s, file ${met(incDisk.seconds < 0.5)} ${incDisk.seconds.toFixed(2)} s)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
