import { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { effectiveRules, type EffectiveRules } from '../../resolution/rules.js';
import { globals, reportError, withEngine } from '../shared.js';
import { trainCommandAction, primeProbabilistic } from '../../../plugins/resolver-probabilistic/cli.js';

export function resolveCommand(): Command {
  return new Command('resolve')
    .description('Re-run identity resolution over stored records, e.g. after changing resolution rules')
    .option('--rebuild', 'rebuild every profile from the stored records')
    .option('--dry-run', 'print what would merge and what would split, change nothing')
    .option('--show-rules', 'print the effective resolution rules (defaults filled in, built-in and configured blocked values)')
    .option('--json', 'print the report as JSON')
    .option('--train', 'estimate a new model for the probabilistic resolver from the stored records (with --dry-run: show what it would merge and split)')
    .action(async (opts: { rebuild?: boolean; dryRun?: boolean; showRules?: boolean; json?: boolean; train?: boolean }, cmd: Command) => {
      try {
        if (opts.train) {
          await withEngine(cmd, (booted) => trainCommandAction(booted, { dryRun: !!opts.dryRun, json: !!opts.json }));
          return;
        }
        if (opts.showRules) {
          // The rules come from the config alone: no store is opened.
          const rules = effectiveRules(loadConfigFile(globals(cmd).config).config.resolution);
          process.stdout.write(opts.json ? `${JSON.stringify(rules, null, 2)}\n` : formatRules(rules));
          return;
        }
        if (!opts.rebuild) throw new ConfigError('nothing to do: pass --rebuild (with --dry-run to preview), --train or --show-rules');
        await withEngine(cmd, async (booted) => {
          const model = await primeProbabilistic(booted);
          const r = await booted.engine.rebuild(!!opts.dryRun);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
            return;
          }
          const w = (s: string) => process.stdout.write(`${s}\n`);
          w(`${r.applied ? 'rebuilt' : 'dry run:'} ${r.records} records: ${r.profilesBefore} profiles -> ${r.profilesAfter}`);
          if (model) w(`probabilistic resolver, model version ${model.version} (trained ${model.trainedAt}); "(probabilistic)" marks a profile joined by a probabilistic link`);
          w(`${r.merges.length} profile(s) ${r.applied ? 'absorbed others' : 'would absorb others'}:`);
          for (const m of r.merges.slice(0, 50)) w(`  ${m.keep} <- ${m.absorb.map((a) => (m.probabilistic.includes(a) ? `${a} (probabilistic)` : a)).join(', ')}`);
          w(`${r.splits.length} profile(s) ${r.applied ? 'split' : 'would split'}:`);
          for (const s of r.splits.slice(0, 50)) w(`  ${s.profile} -> ${s.parts} parts (${s.newIds.join(', ')})`);
          if (r.merges.length > 50 || r.splits.length > 50) w('  ... (use --json for the full list)');
          if (!r.applied) w('nothing was changed; run without --dry-run to apply');
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}

/** The rules as a person reads them; `--json` has the same content. */
export function formatRules(r: EffectiveRules): string {
  const lines: string[] = [];
  const w = (s: string) => lines.push(s);
  const list = (values: string[]) => values.map((v) => JSON.stringify(v)).join(', ');
  w(`resolver: ${r.resolver}`);
  w(`identifier types: ${r.identifierTypes.join(', ')}`);
  w(`mergeOn (highest priority first): ${r.mergeOn.join(', ')}`);
  w(`limits (distinct values per profile): ${Object.entries(r.limits).map(([t, n]) => `${t} ${n}`).join(', ') || 'none'}`);
  w(`generic threshold: a value presented by more than ${r.genericThreshold} profiles stops linking`);
  w(r.nameGuard ? `name guard: merges via ${r.nameGuard.via.join(', ')} refused when given names (${r.nameGuard.traits.join(', ')}) differ` : 'name guard: off');
  if (r.nameGuard) {
    const personal = r.nameGuard.via.filter((t) => !r.nameGuard || !r.nameGuard.strictVia.includes(t));
    w(`  household types (different given names never merge): ${r.nameGuard.strictVia.join(', ') || 'none'}`);
    if (personal.length) w(`  via ${personal.join(', ')}: the same date of birth (${r.nameGuard.dateOfBirthTraits.join(', ')}) with the same family name (${r.nameGuard.familyTraits.join(', ')}) or postcode (${r.nameGuard.postalCodeTraits.join(', ')}) overrules a given-name conflict`);
  }
  w(`caps: ${r.caps.maxRecordsPerProfile} records, ${r.caps.maxIdentifiersPerProfile} identifiers per profile`);
  w(`blocked values (never link; compared lowercased; built-in list ${r.useDefaultBlocklist ? 'on' : 'off: useDefaultBlocklist is false'}):`);
  for (const [type, b] of Object.entries(r.blocked)) {
    w(`  ${type === '*' ? '* (every type)' : type}:`);
    if (b.builtIn.exact.length) w(`    built-in values: ${list(b.builtIn.exact)}`);
    if (b.builtIn.regex.length) w(`    built-in patterns: ${b.builtIn.regex.map((x) => `/${x}/`).join('  ')}`);
    if (b.configured.exact.length) w(`    configured values: ${list(b.configured.exact)}`);
    if (b.configured.regex.length) w(`    configured patterns: ${b.configured.regex.map((x) => `/${x}/`).join('  ')}`);
    if (!b.builtIn.exact.length && !b.builtIn.regex.length && !b.configured.exact.length && !b.configured.regex.length) w('    (none)');
  }
  return `${lines.join('\n')}\n`;
}
