import { Command } from 'commander';
import { eventDestinations, retentionTargets, runRetention } from '../../privacy/retention.js';
import { globals, reportError, withEngine } from '../shared.js';

/** `tributary retention`: what the `retention:` settings would delete now; `--run` deletes it. */
export function retentionCommand(): Command {
  return new Command('retention')
    .description('Expire track records past their `retention:`: their raw data is deleted, what computed traits are built from is kept; without --run, only count them')
    .option('--run', 'expire them (without it: a dry run that only counts)')
    .option('--source <name>', 'only this source')
    .option('--json', 'machine-readable output')
    .action(async (opts: { run?: boolean; source?: string; json?: boolean }, cmd: Command) => {
      try {
        await withEngine(cmd, async ({ store, loaded }) => {
          const targets = retentionTargets(loaded.config, new Date(), opts.source);
          const out = await runRetention(store, targets, { eventDestinations: eventDestinations(loaded.config), computed: loaded.config.resolution.computed, dryRun: !opts.run });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ dryRun: !opts.run, streams: out }, null, 2)}\n`);
            return;
          }
          if (!out.length) {
            process.stdout.write('no stream has a retention: add `retention: { trackRecords: 400d }` to a source or a track stream\n');
            return;
          }
          for (const o of out) {
            process.stdout.write(`${o.source}/${o.stream}: ${o.expired} track record(s) observed before ${o.before} (keep ${o.keep}) ${opts.run ? 'expired' : 'would be expired (run with --run)'}\n`);
          }
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}
