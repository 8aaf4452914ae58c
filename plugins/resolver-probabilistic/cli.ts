import type { Booted } from '../../core/container.js';
import { ConfigError } from '../../core/errors.js';
import { rebuildResolution } from '../../core/resolution/rebuild.js';
import type { MatchModel } from './model.js';
import { ProbabilisticResolver, RESOLVER_ID } from './resolver.js';
import { isMatchModelStore, loadProbabilisticConfig, trainFromStore } from './train.js';

/**
 * `tributary resolve --train [--dry-run]`: estimate a model from the stored records
 * and save it as the next version; with --dry-run, save nothing and show what the
 * new model would merge and split if the store were rebuilt with it.
 */
export async function trainCommandAction(booted: Booted, opts: { dryRun: boolean; json: boolean }): Promise<void> {
  const { loaded, store, logger } = booted;
  const cfg = loadProbabilisticConfig(loaded);
  if (!isMatchModelStore(store)) throw new ConfigError('resolve --train: this store cannot keep match models (use the SQLite store)');
  const out = await trainFromStore(store, cfg, { save: !opts.dryRun });
  const w = (s: string) => process.stdout.write(`${s}\n`);
  const m = out.model;
  if (!opts.json) {
    w(`trained on ${out.records} records, ${m.pairs} candidate pairs, in ${out.seconds.toFixed(2)} s`);
    for (const r of out.perRule) w(`  rule ${r.rule}: ${r.pairs} pairs, EM ${r.converged ? 'converged' : 'did NOT converge'} after ${r.iterations} iterations`);
    w(`match share among candidate pairs (lambda): ${m.lambda.toFixed(4)}${m.prior !== undefined ? `; among all pairs (the prior of every score): ${m.prior.toExponential(2)}` : ''}`);
    for (const c of m.comparisons) w(`  ${c.name}: ${c.levels.map((l, i) => `${l} m=${c.m[i].toFixed(3)} u=${c.u[i].toExponential(2)}`).join('; ')}`);
    if (out.unexpectedValues) w(`${out.unexpectedValues} trait value(s) of an unexpected type were compared as missing`);
  }
  if (!m.converged) {
    process.exitCode = 1;
    const kept = out.previous ? `model version ${out.previous} stays in force` : 'no model is in force: the resolver links on exact identifiers only';
    const why = m.unseparated?.length
      ? `EM found no matches to learn from (exact agreement on ${m.unseparated.join(', ')} is no likelier among matches than among non-matches: train once records of the same people from several sources are stored)`
      : `EM did not converge within ${cfg.em.maxIterations} iterations`;
    const msg = `${why}; nothing saved, ${kept}`;
    if (opts.json) w(JSON.stringify({ converged: false, unseparated: m.unseparated ?? [], previous: out.previous ?? null, perRule: out.perRule }, null, 2));
    else w(msg);
    logger.warn(msg);
    return;
  }
  if (!opts.dryRun) {
    if (opts.json) w(JSON.stringify({ converged: true, version: out.saved, previous: out.previous ?? null, records: out.records, seconds: out.seconds, model: m }, null, 2));
    else w(`saved model version ${out.saved}${out.previous ? ` (was ${out.previous})` : ''}; it applies to the next sync${loaded.config.resolution.resolver === RESOLVER_ID ? '' : ` once resolution.resolver is "${RESOLVER_ID}"`}`);
    return;
  }
  const resolver = new ProbabilisticResolver();
  resolver.useModel(m);
  const r = await rebuildResolution({ store, resolver, rules: loaded.config.resolution, logger, dryRun: true, destinations: [] });
  if (opts.json) {
    w(JSON.stringify({ converged: true, dryRun: true, model: m, rebuild: r }, null, 2));
    return;
  }
  w(`dry run with the new model: ${r.records} records: ${r.profilesBefore} profiles -> ${r.profilesAfter}`);
  w(`${r.merges.length} profile(s) would absorb others:`);
  for (const x of r.merges.slice(0, 50)) w(`  ${x.keep} <- ${x.absorb.map((a) => (x.probabilistic.includes(a) ? `${a} (probabilistic)` : a)).join(', ')}`);
  w(`${r.splits.length} profile(s) would split:`);
  for (const x of r.splits.slice(0, 50)) w(`  ${x.profile} -> ${x.parts} parts`);
  w('nothing was saved; run without --dry-run to save the model');
}

/**
 * A rebuild resolves into a scratch store that holds no model: hand the stored
 * model (the latest version) to the registered probabilistic resolver first.
 * Returns the model handed over, if any.
 */
export async function primeProbabilistic(booted: Booted): Promise<MatchModel | undefined> {
  if (booted.loaded.config.resolution.resolver !== RESOLVER_ID) return undefined;
  const resolver = booted.registry.resolver(RESOLVER_ID);
  const stored = await booted.store.latestMatchModel?.(RESOLVER_ID);
  if (!(resolver instanceof ProbabilisticResolver) || !stored) return undefined;
  const model = JSON.parse(stored.body) as MatchModel;
  resolver.useModel(model);
  return model;
}
