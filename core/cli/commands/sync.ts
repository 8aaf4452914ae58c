import { Command } from 'commander';
import type { SyncOutcome } from '../../engine/engine.js';
import type { RunSummary } from '../../store/types.js';
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
      `  stream ${name}: read ${st.read}, written ${st.written}, dead-lettered ${st.deadLettered}${st.warnings ? `, field warnings ${st.warnings}` : ''}\n`,
    );
  }
  process.stdout.write(`  profiles: created ${s.profiles.created}, updated ${s.profiles.updated}, merged ${s.profiles.merged}\n`);
  for (const [name, d] of Object.entries(s.destinations ?? {})) {
    process.stdout.write(`  destination ${name}: delivered ${d.delivered}, failed ${d.failed}${d.retried ? `, retried ${d.retried}` : ''}\n`);
  }
}

export function syncCommand(): Command {
  return new Command('sync')
    .description('Run the named sources once (all sources when none is named), then their after-sync destinations')
    .argument('[sources...]', 'source names from the config')
    .option('--json', 'print a machine-readable summary on stdout')
    .option('--no-deliver', 'do not run after-sync destinations')
    .action(async (names: string[], opts: { json?: boolean; deliver: boolean }, cmd: Command) => {
      try {
        await withEngine(cmd, async ({ engine, store }) => {
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
              deliverAfter: opts.deliver,
              onProgress: tty ? (p) => process.stderr.write(`\r  ${p.sync}: read ${p.read}, written ${p.written}   `) : undefined,
            });
            if (tty) process.stderr.write('\r\x1b[K');
            outcomes.push(outcome);
            if (!opts.json) printSummary(outcome);
          }
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          const profiles = await store.countProfiles();
          if (opts.json) process.stdout.write(`${JSON.stringify({ ok: outcomes.every((o) => o.ok), runs: outcomes, profiles }, null, 2)}\n`);
          else process.stdout.write(`${profiles} profiles in the store\n`);
          if (!outcomes.every((o) => o.ok)) process.exitCode = 1;
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}
