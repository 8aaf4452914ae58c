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

export async function run(args: string[]): Promise<void> {
  const n = arg(args, 'records', 1_000_000);
  const inc = arg(args, 'incremental', 10_000);
  const batchSize = arg(args, 'batch', 5000);
  const dir = mkdtempSync(join(tmpdir(), 'trib-bench-resolve-'));
  try {
    process.stdout.write(`resolve benchmark: ${fmt(n)} records (~30% duplicates), then ${fmt(inc)} incremental; batch ${batchSize}\n`);
    const floor = await timed(async () => bareUnionFind(n));
    process.stdout.write(`bare in-memory union-find (floor): ${floor.seconds.toFixed(2)} s, ${fmt(floor.result)} clusters\n`);

    const mem = new SqliteStore(':memory:');
    const full = await timed(() => resolveAll(mem, records(n), batchSize));
    const profiles = await mem.countProfiles();
    process.stdout.write(
      `full resolution, in-memory SQLite store: ${full.seconds.toFixed(1)} s (resolver ${full.result.resolveSeconds.toFixed(1)} s, commit ${full.result.commitSeconds.toFixed(1)} s), ${fmt(profiles)} profiles, ${fmt(n / full.seconds)} records/s\n`,
    );
    process.stdout.write(`ratio full / floor: ${(full.seconds / floor.seconds).toFixed(1)}x (resolver decisions alone: ${(full.result.resolveSeconds / floor.seconds).toFixed(1)}x)\n`);
    const incMem = await timed(() => resolveAll(mem, records(inc, n), batchSize));
    process.stdout.write(`incremental ${fmt(inc)} onto ${fmt(n)} (in-memory store): ${incMem.seconds.toFixed(2)} s\n`);
    await mem.close();

    const file = new SqliteStore(join(dir, 'resolve.db'));
    const onDisk = await timed(() => resolveAll(file, records(n), batchSize));
    process.stdout.write(`full resolution, SQLite file store: ${onDisk.seconds.toFixed(1)} s = ${fmt(n / onDisk.seconds)} records/s\n`);
    const incDisk = await timed(() => resolveAll(file, records(inc, n), batchSize));
    process.stdout.write(`incremental ${fmt(inc)} onto ${fmt(n)} (file store): ${incDisk.seconds.toFixed(2)} s\n`);
    await file.close();
    process.stdout.write(`peak RSS: ${fmt(peakRssMb())} MB\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
