import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigFile } from '../../core/config/load.js';
import { resolutionSchema, type TributaryConfig } from '../../core/config/schema.js';
import { DeterministicResolver } from '../../core/resolution/deterministic.js';
import type { CanonicalRecord } from '../../core/schema/canonical.js';
import { compileMapping } from '../../core/schema/mapping.js';
import { SqliteStore } from '../../core/store/sqlite-store.js';
import { pinnedClock } from './clock.js';
import { arg, fmt, peakRssMb, timed } from '../measure.js';
import { coreNormalizers, generatePeople, reachableTruth, SOURCES, type GeneratedDataset } from './generate.js';
import { scoreClustering, type QualityScores } from './metrics.js';
import { probabilisticQuality } from './probabilistic-report.js';
import { fuzzyReport } from './fuzzy-report.js';
import { febrlEmailReport } from './febrl-email.js';

export interface QualityRun {
  scores: QualityScores;
  /** Recall against what exact identifiers can reach at best. */
  reachableRecall: number;
  largestTruePerson: number;
  deadLettered: number;
  seconds: number;
}

/** Rows of the dataset as the sources would yield them (the newsletter gets its row id). */
function rowsOf(ds: GeneratedDataset, source: (typeof SOURCES)[number]): Array<Record<string, unknown>> {
  if (source === 'newsletter') return ds.rows.newsletter.map((r, i) => ({ id: `n${i}`, ...r }));
  return ds.rows[source] as unknown as Array<Record<string, unknown>>;
}

/**
 * Map every generated row with the example config's stream mappings, resolve
 * with the given rules, and score the profiles against the known truth.
 */
export async function scoreResolver(ds: GeneratedDataset, config: TributaryConfig, rules = config.resolution): Promise<QualityRun> {
  const store = new SqliteStore(':memory:');
  const resolver = new DeterministicResolver();
  let ids = 0;
  const clock = pinnedClock();
  const ctx = { logger: { debug() {}, info() {}, warn() {}, error() {} }, rules, now: clock, newProfileId: () => `q${++ids}` };
  const singletons = new Map<string, string>();
  const t = await timed(async () => {
    for (const source of SOURCES) {
      const cfg = config.sources.find((s) => s.name === source);
      if (!cfg) throw new Error(`config has no source named ${source}`);
      const stream = cfg.streams[0];
      const { map } = compileMapping(stream.mapping, {
        source,
        stream: stream.name,
        kind: stream.kind,
        primaryKey: Array.isArray(stream.primaryKey) ? stream.primaryKey : [stream.primaryKey],
        defaultRegion: config.normalize.defaultRegion,
        now: () => clock().toISOString(),
      });
      let batch: CanonicalRecord[] = [];
      const flush = async () => {
        const res = await resolver.resolve(ctx, batch, store);
        await store.commitBatch({ sync: source, records: batch, resolution: res, deadLetters: [], checkpoints: [], destinations: [] });
        batch = [];
      };
      for (const row of rowsOf(ds, source)) {
        const m = map(row);
        if (m.ok) batch.push(m.record);
        else if (m.recordId) singletons.set(`${source}/${stream.name}/${m.recordId}`, `dead:${source}/${m.recordId}`);
        if (batch.length >= 5000) await flush();
      }
      if (batch.length) await flush();
    }
  });
  const predicted = new Map((await store.dumpResolution()).recordProfiles);
  for (const [k, v] of singletons) predicted.set(k, v);
  await store.close();
  const scores = scoreClustering(predicted, ds.truth);
  const reachable = scoreClustering(predicted, reachableTruth(ds, coreNormalizers));
  return { scores, reachableRecall: reachable.pairwise.recall, largestTruePerson: scores.truth.largest, deadLettered: singletons.size, seconds: t.seconds };
}

export async function run(args: string[]): Promise<void> {
  const people = arg(args, 'people', 10_000);
  const seed = arg(args, 'seed', 42);
  const configFile = arg(args, 'config', 'config/example.yaml');
  const rulesFrom = arg(args, 'rules', 'default');
  const loaded = loadConfigFile(configFile);
  const rules = rulesFrom === 'config' ? loaded.config.resolution : resolutionSchema.parse({});
  const ds = generatePeople({ people, seed });
  process.stdout.write(
    `quality: ${fmt(people)} people, seed ${seed}, ${fmt(ds.stats.records)} records (${fmt(ds.stats.trapRecords)} carry a trap), mappings from ${configFile}, ${rulesFrom} rules\n`,
  );
  const r = await scoreResolver(ds, loaded.config, rules);
  const s = r.scores;
  const f = (x: number) => x.toFixed(4);
  process.stdout.write(`pairwise precision ${f(s.pairwise.precision)}  recall ${f(s.pairwise.recall)}  F1 ${f(s.pairwise.f1)}\n`);
  process.stdout.write(`B-cubed   precision ${f(s.bcubed.precision)}  recall ${f(s.bcubed.recall)}  F1 ${f(s.bcubed.f1)}\n`);
  process.stdout.write(`recall of what exact identifiers allow (pairwise): ${f(r.reachableRecall)}\n`);
  process.stdout.write(`profiles ${fmt(s.predicted.clusters)} (true people ${fmt(s.truth.clusters)}); largest profile ${s.predicted.largest} records, largest true person ${s.truth.largest}\n`);
  process.stdout.write(`dead-lettered (no usable identifier): ${fmt(r.deadLettered)}; resolved in ${r.seconds.toFixed(1)} s; peak RSS ${fmt(peakRssMb())} MB\n`);
  const ok = s.pairwise.precision >= 0.995 && r.reachableRecall >= 0.95 && s.predicted.largest <= s.truth.largest;
  process.stdout.write(`targets (precision >= 0.995, reachable recall >= 0.95, largest <= largest true person): ${ok ? 'met' : 'NOT met'}\n`);
  // The fuzzy profile needs no external data: --fuzzy N people (0 skips it).
  const fuzzyPeople = arg(args, 'fuzzy', 2000);
  // --list-traps N prints the first N trap pairs each resolver put in one profile, with their records.
  if (fuzzyPeople > 0) await fuzzyReport((s) => process.stdout.write(`${s}\n`), fuzzyPeople, seed, { listTraps: arg(args, 'list-traps', 0) });
  // shared/ sits beside the repository (../shared); a worktree one level deeper finds it at ../../shared.
  const febrlDir = arg(args, 'febrl', ['test/fixtures/febrl', '../shared/datasets/febrl', '../../shared/datasets/febrl'].find((d) => existsSync(d)) ?? '');
  if (febrlDir === 'none') return;
  if (!febrlDir || !existsSync(febrlDir)) {
    process.stdout.write(`FEBRL data not found (looked in test/fixtures/febrl, ../shared/datasets/febrl and ../../shared/datasets/febrl): pass --febrl DIR; probabilistic figures skipped\n`);
    process.exitCode = 1;
    return;
  }
  await febrlEmailReport((s) => process.stdout.write(`${s}\n`), join(febrlDir, 'febrl_dataset3.csv'));
  await probabilisticQuality((s) => process.stdout.write(`${s}\n`), { febrlDir, speedRecords: arg(args, 'speed', 100_000) });
}
