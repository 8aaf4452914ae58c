import { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { globals, reportError, withEngine } from '../shared.js';

export function resolveCommand(): Command {
  return new Command('resolve')
    .description('Re-run identity resolution over stored records, e.g. after changing resolution rules')
    .option('--rebuild', 'rebuild every profile from the stored records')
    .option('--dry-run', 'print what would merge and what would split, change nothing')
    .option('--json', 'print the report as JSON')
    .action(async (opts: { rebuild?: boolean; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      try {
        if (!opts.rebuild) throw new ConfigError('nothing to do: pass --rebuild (with --dry-run to preview)');
        await withEngine(cmd, async ({ engine }) => {
          const r = await engine.rebuild(!!opts.dryRun);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
            return;
          }
          const w = (s: string) => process.stdout.write(`${s}\n`);
          w(`${r.applied ? 'rebuilt' : 'dry run:'} ${r.records} records: ${r.profilesBefore} profiles -> ${r.profilesAfter}`);
          w(`${r.merges.length} profile(s) ${r.applied ? 'absorbed others' : 'would absorb others'}:`);
          for (const m of r.merges.slice(0, 50)) w(`  ${m.keep} <- ${m.absorb.join(', ')}`);
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
