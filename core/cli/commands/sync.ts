import { Command } from 'commander';
import type { SyncOutcome } from '../../engine/engine.js';
import type { RunSummary } from '../../store/types.js';
import type { DeliveryCounts } from '../../store/types.js';
import { DeliveryIncompleteError } from '../../delivery/deliver.js';
import { emptyCounts } from '../../delivery/send.js';
import { describeCounts } from './deliver.js';
import { errorMessage } from '../../errors.js';
import { storeLocation } from '../../container.js';
import { globals, positiveInt, progressReporter, reportError, signalExitCode, withEngine } from '../shared.js';

function printSummary(o: SyncOutcome): void {
  if (o.skipped) {
    process.stdout.write(`${o.sync}: skipped (already running)\n`);
    return;
  }
  if (o.interrupted) {
    const written = Object.values(o.summary?.streams ?? {}).reduce((a, st) => a + st.written, 0);
    process.stdout.write(`${o.sync}: INTERRUPTED after committing ${written} records: ${o.error}\n`);
  } else if (!o.ok) {
    process.stdout.write(`${o.sync}: FAILED: ${o.error}\n`);
    return;
  } else process.stdout.write(`${o.sync}: ok\n`);
  const s = o.summary;
  if (!s) return;
  for (const [name, st] of Object.entries(s.streams)) {
    process.stdout.write(
      `  stream ${name}: read ${st.read}, written ${st.written}, dead-lettered ${st.deadLettered}` +
        `${st.duplicates ? `, duplicate keys ${st.duplicates}` : ''}${st.warnings ? `, field warnings ${st.warnings}` : ''}` +
        `${st.cursorWarnings ? `, cursor values ignored ${st.cursorWarnings}` : ''}${st.suppressed ? `, suppressed ${st.suppressed}` : ''}\n`,
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
    .option('--progress-every <seconds>', 'when stderr is not a terminal, log progress this often', positiveInt, 30)
    .action(async (names: string[], opts: { json?: boolean; deliver: boolean; progressEvery: number }, cmd: Command) => {
      try {
        await withEngine(cmd, async ({ engine, store, loaded, logger }) => {
          const targets = names.length ? names : engine.config.sources.map((s) => s.name);
          const controller = new AbortController();
          let stoppedBy: string | undefined;
          // The first signal finishes the batch in flight and commits it; a second one exits at once
          // (the batch in flight is rolled back by the store, nothing committed is lost).
          const stop = (signal: NodeJS.Signals) => {
            if (stoppedBy) {
              logger.warn(`${signal} again: exiting now; the batch in flight is not committed`);
              process.exit(signalExitCode(stoppedBy));
            }
            stoppedBy = signal;
            logger.info(`${signal}: finishing the current batch, then stopping (send it again to exit at once)`);
            controller.abort(signal);
          };
          process.on('SIGTERM', stop);
          process.on('SIGINT', stop);
          const tty = !!process.stderr.isTTY && !opts.json;
          const onProgress = progressReporter({ tty, logger, everyMs: opts.progressEvery * 1000 });
          const outcomes: SyncOutcome[] = [];
          const notStarted: string[] = [];
          for (const name of targets) {
            if (controller.signal.aborted) {
              notStarted.push(name);
              continue;
            }
            const outcome = await engine.runSync(name, {
              signal: controller.signal,
              // Destinations run once, after all the named syncs, not after each.
              deliverAfter: false,
              onProgress,
            });
            if (tty) process.stderr.write('\r\x1b[K');
            outcomes.push(outcome);
            if (!opts.json) printSummary(outcome);
          }
          const afterSync = engine.config.destinations.filter((x) => x.trigger === 'after-sync').map((d) => d.name);
          if (stoppedBy && !opts.json) {
            if (notStarted.length) process.stdout.write(`not started (${stoppedBy}): ${notStarted.join(', ')}\n`);
            if (opts.deliver && afterSync.length) {
              process.stdout.write(`not delivered (${stoppedBy}): ${afterSync.join(', ')}; they run after the next sync that completes\n`);
            }
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
          if (opts.json) {
            const interrupted = stoppedBy ? { signal: stoppedBy, notStarted, notDelivered: opts.deliver ? afterSync : [] } : undefined;
            process.stdout.write(`${JSON.stringify({ ok: ok && !stoppedBy, interrupted, runs: outcomes, destinations: deliveries, profiles, store: storeLocation(loaded) }, null, 2)}\n`);
          } else {
            const records = outcomes.reduce((a, o) => a + Object.values(o.summary?.streams ?? {}).reduce((b, st) => b + st.written, 0), 0);
            process.stdout.write(`${records} records written this run; ${profiles} profiles in the store\n`);
            process.stdout.write(`store: ${storeLocation(loaded)}\n`);
          }
          if (stoppedBy) process.exitCode = signalExitCode(stoppedBy);
          else if (!ok) process.exitCode = 1;
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}
