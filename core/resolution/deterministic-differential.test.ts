import { describe, expect, it } from 'vitest';
import { createRng } from '../../bench/quality/prng.js';
import { resolutionSchema } from '../config/schema.js';
import type { CanonicalRecord, Identifier } from '../schema/canonical.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { DeterministicResolver } from './deterministic.js';
import { ReferenceDeterministicResolver } from './__reference__/deterministic.js';
import type { Resolver } from './types.js';
import { captureLogger } from '../../test/kit/context.js';

// Issue 13 took allocations and sorts out of the resolver's per-record work. The decisions must be
// the old ones exactly: the same batches go through the reference copy (the resolver as it was) and
// today's resolver, each against its own store, and every batch's whole result must be deep-equal.
// The generator keeps pools small so that collisions, caps, limits, generic values, name-guard
// refusals, presenters and merges across batches all happen often.

const prng = (seed: number) => createRng(seed).next;

const GIVEN = ['Ann', 'Anne', 'Annie', 'Bob', 'Robert', 'Chloé', 'Chloe', 'Caleb', 'Archie', 'Jon', 'John', 'Julie', 'Julien'];
const FAMILY = ['Martin', 'Priest', 'Warneke', 'Roux', 'Müller', 'Muller', 'Smith'];

interface Scenario {
  rules: Record<string, unknown>;
  batches: CanonicalRecord[][];
}

function scenario(seed: number): Scenario {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)];
  const people = 4 + int(30);
  const emails = [...Array.from({ length: people }, (_, i) => `p${i}@mail.net`), 'test@test.com', 'noreply@shop.com', 'family@home.net'];
  const phones = [...Array.from({ length: Math.max(2, people >> 1) }, (_, i) => `+1415555${String(1000 + i)}`), '+10000000000', '+15555555555;ext=2'];
  const identifier = (): Identifier => {
    const r = rnd();
    if (r < 0.45) return { type: 'email', value: pick(emails) } as Identifier;
    if (r < 0.75) return { type: 'phone', value: pick(phones) } as Identifier;
    if (r < 0.9) return { type: 'external_id', namespace: pick(['crm', 'shop']), value: `c${int(people)}` } as Identifier;
    if (r < 0.95) return { type: 'anonymous_id', value: `a${int(people)}` } as Identifier;
    return { type: 'external_id', namespace: 'crm', value: pick(['0', '-', 'x1']) } as Identifier;
  };
  const traits = (): Record<string, unknown> => {
    const t: Record<string, unknown> = {};
    const r = rnd();
    if (r < 0.6) t.firstName = pick(GIVEN);
    else if (r < 0.75) t.fullName = `${pick(GIVEN)} ${pick(FAMILY)}`;
    if (rnd() < 0.5) t.lastName = pick(FAMILY);
    if (rnd() < 0.3) t.dateOfBirth = pick(['1990-01-02', '1985-07-14', '1990-01-03']);
    if (rnd() < 0.3) t.postalCode = pick(['75001', '75002', '69001']);
    if (rnd() < 0.4) t.city = pick(['Lyon', 'Paris']);
    return t;
  };
  const mergeOn = pick([['external_id', 'email', 'phone'], ['email', 'phone'], ['external_id.crm', 'phone', 'email', 'external_id'], ['phone', 'email', 'anonymous_id']]);
  const rules: Record<string, unknown> = {
    mergeOn,
    genericThreshold: 2 + int(3),
    maxRecordsPerProfile: 2 + int(8),
    maxIdentifiersPerProfile: 2 + int(8),
    limits: pick([{}, { email: 1 + int(3), phone: 1 + int(3), external_id: 1 }, { 'external_id.crm': 1, email: 2 }]),
  };
  if (rnd() < 0.25) rules.nameGuard = false;
  if (rnd() < 0.2) rules.useDefaultBlocklist = false;
  const batches: CanonicalRecord[][] = [];
  const written: string[] = [];
  const nBatches = 2 + int(6);
  for (let b = 0; b < nBatches; b++) {
    const batch: CanonicalRecord[] = [];
    const size = 1 + int(30);
    const inBatch = new Set<string>();
    for (let i = 0; i < size; i++) {
      // Some records are read again (a later batch, new identifiers), which makes the resolver rebuild profiles.
      const reread = written.length > 0 && rnd() < 0.15 ? pick(written) : undefined;
      const recordId = reread ?? `r${seed}-${b}-${i}`;
      if (inBatch.has(recordId)) continue;
      inBatch.add(recordId);
      const ids = Array.from({ length: int(5) }, identifier);
      // A repeated identifier within one record: it must count once.
      if (ids.length && rnd() < 0.1) ids.push({ ...ids[0] });
      batch.push({
        kind: 'identify',
        source: pick(['crm', 'shop']),
        stream: 'customers',
        recordId,
        observedAt: new Date(Date.UTC(2026, 0, 1) + (b * 100 + i) * 1000).toISOString(),
        identifiers: ids,
        traits: traits(),
      });
    }
    for (const r of batch) if (!written.includes(r.recordId)) written.push(r.recordId);
    batches.push(batch);
  }
  return { rules, batches };
}

/** Runs every batch through one resolver and its own store; returns the results, each made plain. */
async function outcomes(make: () => Resolver, s: Scenario) {
  const store = new SqliteStore(':memory:');
  try {
    const resolver = make();
    let clock = Date.parse('2026-01-01T00:00:00Z');
    let ids = 0;
    const ctx = {
      logger: captureLogger(),
      rules: resolutionSchema.parse(s.rules),
      now: () => new Date((clock += 1000)),
      newProfileId: () => `p${String(++ids).padStart(4, '0')}`,
    };
    const out: unknown[] = [];
    for (const batch of s.batches) {
      const result = await resolver.resolve(ctx, batch, store);
      // A new profile's frozen stand-ins must all have been replaced: a caller may write to what it is handed.
      for (const p of result.profiles) expect([p.traits, p.traitSources, p.computed].some(Object.isFrozen), p.id).toBe(false);
      // A snapshot before the store sees it (a later batch must not change what this one said).
      out.push(structuredClone({ ...result, assignments: [...result.assignments], identifierOwners: [...result.identifierOwners] }));
      await store.commitBatch({ sync: 'crm', records: batch, resolution: result, deadLetters: [], checkpoints: [], destinations: [] });
    }
    return out;
  } finally {
    await store.close();
  }
}

describe('deterministic resolver: same decisions as the reference copy', () => {
  it('deep-equal results on 300 random scenarios (collisions, caps, limits, blocked and generic values, name guard, re-reads)', async () => {
    const seen = { merges: 0, refusedCap: 0, refusedLimit: 0, refusedName: 0, generic: 0, presented: 0, blocked: 0, reread: 0 };
    for (let seed = 1; seed <= 300; seed++) {
      const s = scenario(seed);
      const old = await outcomes(() => new ReferenceDeterministicResolver(), s);
      const now = await outcomes(() => new DeterministicResolver(), s);
      expect(now, `scenario ${seed}`).toEqual(old);
      for (const r of old as Array<{ merges: unknown[]; refused: Array<{ reason: string }>; genericValues: unknown[]; presented: unknown[]; reread: unknown[] }>) {
        seen.merges += r.merges.length;
        seen.generic += r.genericValues.length;
        seen.presented += r.presented.length;
        seen.reread += r.reread.length;
        for (const x of r.refused) {
          if (x.reason.startsWith('cap:')) seen.refusedCap++;
          else if (x.reason.startsWith('limit:')) seen.refusedLimit++;
          else if (x.reason.startsWith('name guard')) seen.refusedName++;
          else if (x.reason.startsWith('blocked')) seen.blocked++;
        }
      }
    }
    // The scenarios must really reach every kind of decision, or the comparison proves little.
    for (const [k, n] of Object.entries(seen)) expect(n, k).toBeGreaterThan(20);
  }, 120_000);
});
