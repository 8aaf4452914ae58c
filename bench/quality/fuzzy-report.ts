import { fmt } from '../measure.js';
import { loadProbabilisticConfig } from './febrl-score.js';
import { generateFuzzy } from './fuzzy.js';
import { deterministicFuzzy, exactCeiling, FUZZY_CONFIG, orderAgreement, probabilisticFuzzy, trainFuzzy, trapMergeList, type FuzzyRun, type TrapMerge } from './fuzzy-score.js';

type Write = (s: string) => void;
const f4 = (x: number) => x.toFixed(4);

/** `--list-traps N`: the first N trap pairs found in one profile, each record as the resolver saw it. */
function listTraps(w: Write, merges: TrapMerge[], limit: number): void {
  const cell = (v: unknown) => (v === undefined ? '-' : JSON.stringify(v));
  for (const m of merges.slice(0, limit)) {
    w(`    trap merged: ${m.kind} ${m.people.join(' + ')} in profile ${m.profile}`);
    for (const r of m.records) {
      const t = r.traits;
      w(`      ${r.key} (${r.person}): first ${cell(t.firstName)} last ${cell(t.lastName)} dob ${cell(t.dateOfBirth)} postcode ${cell(t.postcode)}; ${r.identifiers.join(', ') || 'no identifier'}`);
    }
  }
  if (merges.length > limit) w(`    ... ${merges.length - limit} more`);
}

/**
 * Both resolvers on the generator's fuzzy profile: scores, trap merges, the
 * exact-identifier ceiling and partition agreement across shuffled orders.
 * Returns whether the targets are met.
 */
export async function fuzzyReport(w: Write, people: number, seed: number, opts: { listTraps?: number } = {}): Promise<boolean> {
  const ds = generateFuzzy({ people, seed });
  const households = ds.trapPairs.filter((t) => t[2] === 'household').length;
  const twins = ds.trapPairs.length - households;
  w(`fuzzy generator: ${fmt(people)} people, seed ${seed}, ${fmt(ds.records.length)} records; traps: ${households} household pairs, ${twins} twin pairs (bench/quality/fuzzy.yaml)`);
  const ceiling = exactCeiling(ds).pairwise.recall;
  w(`  exact-identifier ceiling (records of one person joined only through a shared email or phone): pairwise recall ${f4(ceiling)}`);
  const cfg = loadProbabilisticConfig(FUZZY_CONFIG);
  const t0 = process.hrtime.bigint();
  const model = trainFuzzy(ds, cfg);
  const trainSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const runs: Array<[string, FuzzyRun, (r: typeof ds.records) => Promise<FuzzyRun>]> = [
    ['deterministic', await deterministicFuzzy(ds), (r) => deterministicFuzzy(ds, r)],
    ['probabilistic', await probabilisticFuzzy(ds, cfg, model), (r) => probabilisticFuzzy(ds, cfg, model, r)],
  ];
  w(`  model: EM ${model.converged ? 'converged' : 'did NOT converge'}, lambda ${model.lambda.toFixed(4)}, trained in ${trainSeconds.toFixed(2)} s`);
  for (const [label, r, again] of runs) {
    const s = r.scores;
    w(
      `  ${label.padEnd(14)} pairwise P ${f4(s.pairwise.precision)} R ${f4(s.pairwise.recall)} F1 ${f4(s.pairwise.f1)} | B-cubed P ${f4(s.bcubed.precision)} R ${f4(s.bcubed.recall)} F1 ${f4(s.bcubed.f1)} | ` +
        `largest profile ${s.predicted.largest} (largest true entity ${s.truth.largest})`,
    );
    const agree = await orderAgreement(r.predicted, again, ds, [11, 23]);
    w(`  ${''.padEnd(14)} households merged ${r.householdsMerged}/${households}, twins merged ${r.twinsMerged}/${twins}; probabilistic links ${fmt(r.probabilisticLinks)}; shuffled-order agreement (pairwise F1) ${agree.map(f4).join(', ')}`);
    if (opts.listTraps) listTraps(w, trapMergeList(ds, r.predicted), opts.listTraps);
  }
  const [d, p] = [runs[0][1], runs[1][1]];
  const targets = [
    [`deterministic precision >= 0.995 (${f4(d.scores.pairwise.precision)})`, d.scores.pairwise.precision >= 0.995],
    [`deterministic: twins and households never merge (${d.householdsMerged + d.twinsMerged} trap pairs merged)`, d.householdsMerged + d.twinsMerged === 0],
    [`precision >= 0.995 (probabilistic ${f4(p.scores.pairwise.precision)})`, p.scores.pairwise.precision >= 0.995],
    [`recall above the exact-identifier ceiling (${f4(p.scores.pairwise.recall)} vs ${f4(ceiling)})`, p.scores.pairwise.recall > ceiling],
    [`twins and households never merge (${p.householdsMerged + p.twinsMerged} trap pairs merged)`, p.householdsMerged + p.twinsMerged === 0],
  ] as const;
  for (const [what, met] of targets) w(`  target ${what}: ${met ? 'met' : 'NOT met'}`);
  return targets.every((t) => t[1]);
}
