import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolutionSchema } from '../../config/schema.js';
import { DeterministicResolver } from '../../resolution/deterministic.js';
import type { ResolutionResult } from '../../resolution/types.js';
import type { CanonicalRecord, Identifier } from '../../schema/canonical.js';
import { SqliteStore } from '../sqlite-store.js';

/**
 * Test workload for the graph cache (graph-cache*.test.ts): people who share
 * emails and household phones, so batches merge profiles, refuse links (limits,
 * generic values) and record presenters. Seeded: every run makes the same batches.
 */
export function workload(seed: number, batches: number, perBatch: number): CanonicalRecord[][] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (n: number) => Math.floor(rand() * n);
  const out: CanonicalRecord[][] = [];
  let n = 0;
  for (let b = 0; b < batches; b++) {
    const batch: CanonicalRecord[] = [];
    for (let i = 0; i < perBatch; i++) {
      const person = pick(40);
      const ids: Identifier[] = [{ type: 'external_id', namespace: 'crm', value: `c${person}` } as Identifier];
      // A few emails per person, some shared between two people; a household phone shared by up to five.
      if (rand() < 0.8) ids.push({ type: 'email', value: `e${rand() < 0.15 ? pick(40) : person}-${pick(3)}@x.com` } as Identifier);
      if (rand() < 0.5) ids.push({ type: 'phone', value: `+3314567${String(1000 + Math.floor(person / 5)).padStart(4, '0')}` } as Identifier);
      if (rand() < 0.5) ids.splice(0, 1);
      batch.push({
        kind: 'identify',
        source: 'crm',
        stream: 'people',
        recordId: String(rand() < 0.1 && n > 0 ? pick(n) : n++),
        observedAt: new Date(Date.UTC(2026, 0, 1) + b * 60_000 + i * 1000).toISOString(),
        identifiers: ids,
        traits: { firstName: `F${person}` },
      });
    }
    // One record per key in a batch, as the engine hands them over.
    out.push([...new Map(batch.map((r) => [r.recordId, r])).values()]);
  }
  return out;
}

export const WORKLOAD_RULES = { limits: { external_id: 1, email: 2, phone: 1 }, genericThreshold: 3, nameGuard: false } as const;

/** Resolves and commits batches as the engine does: one `exclusive` per batch. */
export class Runner {
  private ids = 0;
  private clock = Date.parse('2026-01-01T00:00:00Z');
  private readonly resolver = new DeterministicResolver();
  readonly rules = resolutionSchema.parse(WORKLOAD_RULES);

  async batch(store: SqliteStore, records: CanonicalRecord[], after?: () => Promise<void> | void): Promise<ResolutionResult> {
    return store.exclusive(async () => {
      const ctx = {
        logger: { debug() {}, info() {}, warn() {}, error() {} },
        rules: this.rules,
        now: () => new Date((this.clock += 1000)),
        newProfileId: () => `p${String(++this.ids).padStart(5, '0')}`,
      };
      const resolution = await this.resolver.resolve(ctx, records, store);
      await store.commitBatch({ sync: 'crm', records, resolution, deadLetters: [], checkpoints: [], destinations: [] });
      await after?.();
      return resolution;
    });
  }
}

/** A scratch directory unique to this process and run. */
export function scratchDir(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `trib-graph-cache-${process.pid}-`));
  return { file: join(dir, 'store.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** What the graph read methods answer for these keys, as plain arrays (order kept). */
export async function graphView(store: SqliteStore, keys: string[]) {
  return {
    owners: [...(await store.lookupIdentifiers(keys))],
    presentedBy: [...(await store.presentedBy(keys))],
    presenters: [...(await store.presentersOf(keys, 10))],
  };
}

/** Every identifier key the store file holds (owned or presented), plus keys it does not know. */
export function allKeys(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    const known = db.prepare('SELECT key FROM identifiers UNION SELECT identifier_key FROM presented ORDER BY 1').pluck().all() as string[];
    return [...known, 'email\u0000nobody@x.com', 'phone\u0000+10000000001'];
  } finally {
    db.close();
  }
}

/** Row counts of the graph tables, to check a workload really merges and presents. */
export function graphCounts(file: string): { identifiers: number; presented: number; merges: number; profiles: number } {
  const db = new Database(file, { readonly: true });
  try {
    const n = (t: string) => Number(db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get());
    return { identifiers: n('identifiers'), presented: n('presented'), merges: n('merges'), profiles: n('profiles') };
  } finally {
    db.close();
  }
}
