import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolutionSchema } from '../../core/config/schema.js';
import type { CanonicalRecord } from '../../core/schema/canonical.js';
import { SqliteStore } from '../../core/store/sqlite-store.js';
import type { ProbabilisticConfig } from '../../plugins/resolver-probabilistic/config.js';
import { linkAll } from '../../plugins/resolver-probabilistic/link.js';
import { ProbabilisticResolver, RESOLVER_ID } from '../../plugins/resolver-probabilistic/resolver.js';
import { fmt, peakRssMb } from '../measure.js';
import { febrlLinkRecords, febrlTruth, readFebrl, type FebrlRow } from './febrl.js';
import { pinnedClock } from './clock.js';
import { febrlLike } from './febrl-like.js';
import { deterministicFebrl, FEBRL_CONFIG, loadProbabilisticConfig, probabilisticFebrl, shuffled } from './febrl-score.js';
import { scoreClustering, type QualityScores } from './metrics.js';

type Write = (s: string) => void;
const f4 = (x: number) => x.toFixed(4);

function line(w: Write, label: string, s: QualityScores): void {
  w(
    `  ${label.padEnd(14)} pairwise P ${f4(s.pairwise.precision)} R ${f4(s.pairwise.recall)} F1 ${f4(s.pairwise.f1)} | ` +
      `B-cubed P ${f4(s.bcubed.precision)} R ${f4(s.bcubed.recall)} F1 ${f4(s.bcubed.f1)} | largest profile ${s.predicted.largest} (largest true entity ${s.truth.largest})`,
  );
}

/** FEBRL 1-3 with one configuration: both resolvers, shuffled-order agreement, targets. */
export async function febrlReport(w: Write, dir: string, cfg: ProbabilisticConfig): Promise<boolean> {
  let allMet = true;
  for (const n of [1, 2, 3]) {
    const rows = readFebrl(join(dir, `febrl_dataset${n}.csv`));
    w(`FEBRL ${n}: ${fmt(rows.length)} records, ${fmt(new Set(rows.map((r) => r.entity)).size)} true entities`);
    line(w, 'deterministic', await deterministicFebrl(rows));
    const { scores, outcome } = probabilisticFebrl(rows, cfg);
    line(w, 'probabilistic', scores);
    const t = outcome.training!;
    w(
      `  model: EM ${outcome.model.converged ? 'converged' : 'did NOT converge'} (${t.perRule.map((r) => `${r.rule} ${r.iterations} it`).join(', ')}), ` +
        `lambda ${outcome.model.lambda.toFixed(4)}, ${fmt(outcome.pairs)} candidate pairs, trained in ${outcome.seconds.train.toFixed(2)} s; ` +
        `review band ${outcome.review.length} pairs; merges refused as weak ${outcome.refusedWeak}`,
    );
    // The same model on the records in other orders: does the partition depend on arrival order?
    const agreement: number[] = [];
    for (const seed of [11, 23]) {
      const other = linkAll(febrlLinkRecords(shuffled(rows, seed)), cfg, { model: outcome.model });
      agreement.push(scoreClustering(other.clusters, outcome.clusters).pairwise.f1);
    }
    w(`  partition agreement across 2 shuffled orders (pairwise F1 against the first order): ${agreement.map(f4).join(', ')}`);
    const met = scores.pairwise.f1 >= 0.95;
    allMet &&= met;
    w(`  target pairwise F1 >= 0.95: ${met ? 'met' : 'NOT met'}`);
  }
  return allMet;
}

function canonical(rows: FebrlRow[], stream: string): CanonicalRecord[] {
  return rows.map((r) => ({
    kind: 'identify',
    source: 'bench',
    stream,
    recordId: r.recId,
    observedAt: '2026-01-01T00:00:00.000Z',
    identifiers: [],
    traits: { ...r.traits, address: [r.traits.streetNumber, r.traits.address1].filter(Boolean).join(' ') },
  }));
}

/**
 * Speed: N FEBRL-like records blocked, compared, scored and clustered in memory
 * (floor 60 s for 100,000), then 1,000 new records resolved onto N stored ones
 * through the store's blocking index (floor 2 s).
 */
export async function speedReport(w: Write, pool: FebrlRow[], cfg: ProbabilisticConfig, records: number): Promise<boolean> {
  const rows = febrlLike(pool, records + 1000);
  const stored = rows.slice(0, records);
  const fresh = rows.slice(records);
  const batch = linkAll(febrlLinkRecords(stored), cfg);
  const s = batch.seconds;
  const q = scoreClustering(batch.clusters, febrlTruth(stored));
  const linkSeconds = s.prepare + s.score + s.cluster;
  w(`speed: ${fmt(records)} FEBRL-like records, ${fmt(batch.pairs)} candidate pairs`);
  w(`  blocked + compared ${s.prepare.toFixed(1)} s, scored ${s.score.toFixed(1)} s, clustered ${s.cluster.toFixed(1)} s: ${linkSeconds.toFixed(1)} s (floor: under 60 s)`);
  w(`  training (u from ${fmt(cfg.randomPairs)} random pairs, EM per rule): ${s.train.toFixed(1)} s; pairwise F1 on this data ${f4(q.pairwise.f1)}`);

  // Incremental: the stored records go in through the resolver (exact identifiers only, none here, so it files blocking keys).
  const dir = mkdtempSync(join(tmpdir(), 'tributary-prob-bench-'));
  const store = new SqliteStore(join(dir, 'store.db'));
  const resolver = new ProbabilisticResolver();
  let ids = 0;
  const ctx = {
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    rules: resolutionSchema.parse({ resolver: RESOLVER_ID, probabilistic: {} }),
    now: pinnedClock(),
    newProfileId: () => `b${++ids}`,
  };
  // The plugin reads resolution.probabilistic; hand it the parsed settings as they are.
  ctx.rules.probabilistic = cfg;
  try {
    const all = canonical(stored, 'people');
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < all.length; i += 5000) {
      const part = all.slice(i, i + 5000);
      await store.commitBatch({ sync: 'bench', records: part, resolution: await resolver.resolve(ctx, part, store), deadLetters: [], checkpoints: [], destinations: [] });
    }
    const loadSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    resolver.useModel(batch.model);
    const incoming = canonical(fresh, 'new');
    const t1 = process.hrtime.bigint();
    const res = await resolver.resolve(ctx, incoming, store);
    await store.commitBatch({ sync: 'bench', records: incoming, resolution: res, deadLetters: [], checkpoints: [], destinations: [] });
    const incSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
    w(`  incremental: 1,000 new records onto ${fmt(records)} stored (loaded in ${loadSeconds.toFixed(1)} s): resolved + committed in ${incSeconds.toFixed(2)} s (floor: under 2 s); ${res.probabilisticLinks?.length ?? 0} probabilistic links`);
    w(`  peak RSS ${fmt(peakRssMb())} MB`);
    return linkSeconds < 60 && incSeconds < 2;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function probabilisticQuality(w: Write, opts: { febrlDir: string; speedRecords: number }): Promise<void> {
  const cfg = loadProbabilisticConfig(FEBRL_CONFIG);
  w(`probabilistic resolver: one configuration (bench/quality/febrl.yaml) for every FEBRL file`);
  const febrlMet = await febrlReport(w, opts.febrlDir, cfg);
  let speedMet = true;
  if (opts.speedRecords > 0) {
    const pool = [1, 2, 3].flatMap((n) => readFebrl(join(opts.febrlDir, `febrl_dataset${n}.csv`)));
    speedMet = await speedReport(w, pool, cfg, opts.speedRecords);
  }
  w(`targets: FEBRL F1 >= 0.95 on each ${febrlMet ? 'met' : 'NOT met'}; speed floors ${opts.speedRecords > 0 ? (speedMet ? 'met' : 'NOT met') : 'not measured (--speed 0)'}`);
}
