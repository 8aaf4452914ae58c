import { Command } from 'commander';
import type { SyncOutcome } from '../../engine/engine.js';
import type { RunSummary } from '../../store/types.js';
import type { DeliveryCounts } from '../../store/types.js';
import { DeliveryIncompleteError } from '../../delivery/deliver.js';
import { emptyCounts } from '../../delivery/send.js';
import { describeCounts } from './deliver.js';
import { errorMessage } from '../../errors.js';
import { storeLocation } from '../../container.js';
import { globals, reportError, withEngine } from '../shared.js';

function printSummary(o: SyncOutcome): void {
  if (o.skipped) {
    process.stdout.write(`${o.sync}: skipped (already running)\n`);
    return;
  }
  if (!o.ok) {
    process.stdout.write(`${o.sync}: FAILED: ${o.error}\n`);
    return;
  }
  const s = o.summary as RunSummary;
  process.stdout.write(`${o.sync}: ok\n`);
  for (const [name, st] of Object.entries(s.streams)) {
    process.stdout.write(
      `  stream ${name}: read ${st.read}, written ${st.written}, dead-lettered ${st.deadLettered}` +
        `${st.duplicates ? `, duplicate keys ${st.duplicates}` : ''}${st.warnings ? `, field warnings ${st.warnings}` : ''}` +
        `${st.cursorWarnings ? `, cursor values ignored ${st.cursorWarnings}` : ''}\n`,
    );
  }
  process.stdout.write(`  profiles: created ${s.profiles.created}, updated ${s.profiles.updated}, merged ${s.profiles.merged}\n`);
}

export function syncCommand(): Command {
  return new Command('sync')
    .description('Run the named sources once (all sources when none is named), then their after-sync destinations')
    .argument('[sources...]', 'source names from the config')
    .option('--json', 'print a machine-readable summary on stdout')
    .option('--no-deliver', 'do not run after-sync destinations')
    .action(async (names: string[], opts: { json?: boolean; deliver: boolean }, cmd: Command) => {
      try {
        await withEngine(cmd, async ({ engine, store, loaded }) => {
          const targets = names.length ? names : engine.config.sources.map((s) => s.name);
          const controller = new AbortController();
          const stop = () => controller.abort();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
          const tty = process.stderr.isTTY && !opts.json;
          const outcomes: SyncOutcome[] = [];
          for (const name of targets) {
            const outcome = await engine.runSync(name, {
              signal: controller.signal,
              // Destinations run once, after all the named syncs, not after each.
              deliverAfter: false,
              onProgress: tty ? (p) => process.stderr.write(`\r  ${p.sync}: read ${p.read}, written ${p.written}   `) : undefined,
            });
            if (tty) process.stderr.write('\r\x1b[K');
            outcomes.push(outcome);
            if (!opts.json) printSummary(outcome);
          }
          const deliveries: Record<string, DeliveryCounts> = {};
          if (opts.deliver && outcomes.some((o) => o.ok && !o.skipped) && !controller.signal.aborted) {
            for (const d of engine.config.destinations.filter((x) => x.trigger === 'after-sync')) {
              try {
                const r = await engine.deliverTo(d.name, controller.signal);
                deliveries[d.name] = r;
                if (!opts.json) process.stdout.write(`${d.name}: ${describeCounts(r)}\n`);
              } catch (err) {
                const counts = err instanceof DeliveryIncompleteError ? err.counts : undefined;
                deliveries[d.name] = { ...(counts ?? emptyCounts()), error: errorMessage(err) };
                if (!opts.json) process.stdout.write(`${d.name}: FAILED: ${errorMessage(err)}${counts ? ` (${describeCounts(counts)})` : ''}\n`);
              }
            }
          }
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          const profiles = await store.countProfiles();
          const ok = outcomes.every((o) => o.ok) && Object.values(deliveries).every((d) => !d.error);
          if (opts.json) process.stdout.write(`${JSON.stringify({ ok, runs: outcomes, destinations: deliveries, profiles, store: storeLocation(loaded) }, null, 2)}\n`);
          else {
            const records = outcomes.reduce((a, o) => a + Object.values(o.summary?.streams ?? {}).reduce((b, st) => b + st.written, 0), 0);
            process.stdout.write(`${records} records written this run; ${profiles} profiles in the store\n`);
            process.stdout.write(`store: ${storeLocation(loaded)}\n`);
          }
          if (!ok) process.exitCode = 1;
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}
