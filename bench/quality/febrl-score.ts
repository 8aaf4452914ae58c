import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { resolutionSchema } from '../../core/config/schema.js';
import { DeterministicResolver } from '../../core/resolution/deterministic.js';
import type { CanonicalRecord } from '../../core/schema/canonical.js';
import { SqliteStore } from '../../core/store/sqlite-store.js';
import { probabilisticSchema, type ProbabilisticConfig } from '../../plugins/resolver-probabilistic/config.js';
import { linkAll, type LinkOutcome } from '../../plugins/resolver-probabilistic/link.js';
import { pinnedClock } from './clock.js';
import { febrlLinkRecords, febrlTruth, readFebrl, type FebrlRow } from './febrl.js';
import { scoreClustering, type QualityScores } from './metrics.js';

/** bench/quality/febrl.yaml, from the sources (tests) or from dist/ (the bench). */
export const FEBRL_CONFIG = [new URL('./febrl.yaml', import.meta.url), new URL('../../../bench/quality/febrl.yaml', import.meta.url)].find((u) => existsSync(u)) ?? new URL('./febrl.yaml', import.meta.url);

export function loadProbabilisticConfig(file: URL | string): ProbabilisticConfig {
  return probabilisticSchema.parse(parse(readFileSync(file, 'utf8')));
}

/**
 * The deterministic resolver on FEBRL: the only identifier is soc_sec_id (as an
 * external id), so it links exactly the records whose id survived the noise.
 */
export async function deterministicFebrl(rows: FebrlRow[]): Promise<QualityScores> {
  const store = new SqliteStore(':memory:');
  let ids = 0;
  const ctx = { logger: { debug() {}, info() {}, warn() {}, error() {} }, rules: resolutionSchema.parse({}), now: pinnedClock(), newProfileId: () => `d${++ids}` };
  const records: CanonicalRecord[] = rows.map((r) => ({
    kind: 'identify',
    source: 'febrl',
    stream: 'people',
    recordId: r.recId,
    observedAt: '2026-01-01T00:00:00.000Z',
    identifiers: r.traits.ssn ? [{ type: 'external_id', namespace: 'ssn', value: r.traits.ssn }] : [],
    traits: { ...r.traits },
  }));
  const res = await new DeterministicResolver().resolve(ctx, records, store);
  const predicted = new Map<string, string>();
  for (const r of rows) predicted.set(r.recId, res.assignments.get(`febrl/people/${r.recId}`) ?? `alone:${r.recId}`);
  await store.close();
  return scoreClustering(predicted, febrlTruth(rows));
}

export function probabilisticFebrl(rows: FebrlRow[], cfg: ProbabilisticConfig): { scores: QualityScores; outcome: LinkOutcome } {
  const outcome = linkAll(febrlLinkRecords(rows), cfg);
  return { scores: scoreClustering(outcome.clusters, febrlTruth(rows)), outcome };
}

/** Deterministic pseudo-shuffle (seeded Fisher-Yates) for the order-agreement figure. */
export function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
