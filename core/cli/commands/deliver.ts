import { Command } from 'commander';
import type { Engine } from '../../engine/engine.js';
import { ConfigError } from '../../errors.js';
import type { DeliveryCounts, ProfileStore } from '../../store/types.js';
import { globals, reportError, withEngine } from '../shared.js';

/** One line of what a delivery did. */
export function describeCounts(c: DeliveryCounts): string {
  const parts = [`delivered ${c.delivered}`, `unchanged ${c.unchanged}`, `failed ${c.failed}`];
  if (c.deleted) parts.push(`deleted ${c.deleted}`);
  if (c.filtered) parts.push(`filtered out ${c.filtered}`);
  if (c.retried) parts.push(`retried ${c.retried}`);
  if (c.pending) parts.push(`still queued ${c.pending}`);
  if (c.withheld) parts.push(`withheld (no consent) ${c.withheld}`);
  if (c.withdrawn) parts.push(`consent withdrawn ${c.withdrawn}`);
  if (c.cannotWithdraw) parts.push(`cannot withdraw ${c.cannotWithdraw}`);
  parts.push(`requests ${c.requests}`);
  if (c.throttledMs >= 1000) parts.push(`waited ${(c.throttledMs / 1000).toFixed(1)} s for the rate budget`);
  return parts.join(', ');
}

/** A destination's consent bookkeeping: how it withdraws, withdrawals still owed (sent at its next delivery) and done. */
async function consentStatus(engine: Engine, store: ProfileStore, name: string, purpose: string) {
  let withdraw: string;
  try {
    withdraw = engine.destinationPlan(name).withdraw;
  } catch {
    withdraw = 'unknown';
  }
  const w = await store.delivery.withdrawalStatus(name, purpose);
  return { purpose, withdraw, pendingWithdrawals: w.pending, withdrawn: w.withdrawn };
}

/** Per destination: queue backlog, the last delivery and its counts; for `status`. */
export async function destinationStatus(engine: Engine, store: ProfileStore) {
  const out = [];
  for (const d of engine.config.destinations) {
    const st = await store.delivery.status(d.name);
    out.push({
      name: d.name,
      connector: d.connector,
      trigger: typeof d.trigger === 'object' ? `schedule ${d.trigger.schedule}` : d.trigger,
      backlog: await store.delivery.backlog(d.name),
      ...(st.disabled ? { disabled: st.disabled } : {}),
      ...(st.lastRun ? { lastRun: st.lastRun } : {}),
      ...(d.purpose ? { consent: await consentStatus(engine, store, d.name, d.purpose) } : {}),
    });
  }
  return out;
}

export function destinationStatusLines(rows: Awaited<ReturnType<typeof destinationStatus>>): string[] {
  return rows.map((r) => {
    const last = r.lastRun ? `last delivery ${r.lastRun.at}: ${r.lastRun.error ? `FAILED: ${r.lastRun.error}; ` : ''}${describeCounts(r.lastRun.counts)}` : 'never delivered';
    const c = r.consent;
    const consent = c
      ? `; purpose ${c.purpose}: ${c.pendingWithdrawals} withdrawal(s) pending, ${c.withdrawn} withdrawn${c.withdraw === 'none' ? ` (${r.connector} cannot withdraw: remove them there by hand)` : ''}`
      : '';
    return `destination ${r.name} (${r.connector}, ${r.trigger}): ${r.backlog} queued; ${r.disabled ? `DISABLED: ${r.disabled}; ` : ''}${last}${consent}`;
  });
}

function ids(values: string[] | undefined): number[] | undefined {
  if (!values?.length) return undefined;
  return values.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`--id: expected a dead-letter number such as 12, got "${v}"`);
    return n;
  });
}

export function deliverCommand(): Command {
  return new Command('deliver')
    .description('Deliver to one destination now (any trigger): what changed since its last delivery')
    .argument('<destination>', 'destination name from the config')
    .option('--full', 'queue every profile again (only changed payloads are sent)')
    .option('--resend', 'with --full: forget what the destination holds and send every profile')
    .option('--enable', 're-enable a destination that was disabled (an endpoint that answered 410), then deliver')
    .option('--json', 'print the counts as JSON')
    .action(async (name: string, opts: { full?: boolean; resend?: boolean; enable?: boolean; json?: boolean }, cmd: Command) => {
      try {
        if (opts.resend && !opts.full) throw new ConfigError('--resend only goes with --full');
        await withEngine(cmd, async ({ engine, store }) => {
          engine.destinationPlan(name);
          if (opts.enable) {
            await store.delivery.setDisabled(name, undefined);
            process.stderr.write(`destination ${name} enabled\n`);
          }
          const controller = new AbortController();
          const stop = () => controller.abort();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
          try {
            const counts = await engine.deliverTo(name, controller.signal, { full: opts.full, resend: opts.resend });
            process.stdout.write(opts.json ? `${JSON.stringify({ ok: true, destination: name, ...counts }, null, 2)}\n` : `${name}: ${describeCounts(counts)}\n`);
          } finally {
            process.off('SIGTERM', stop);
            process.off('SIGINT', stop);
          }
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}

/** `dead-letters retry <destination> [--id N...]`: move failed deliveries back to the queue. */
export function deadLettersRetryCommand(): Command {
  return new Command('retry')
    .description("Re-queue a destination's dead letters (all, or --id N ...); they go out on its next delivery")
    .argument('<destination>', 'destination name from the config')
    .option('--id <n...>', 'only these dead letters')
    .action(async (name: string, opts: { id?: string[] }, sub: Command) => {
      try {
        const only = ids(opts.id);
        await withEngine(sub, async ({ engine, store }) => {
          engine.destinationPlan(name);
          const n = await store.delivery.requeueDeadLetters(name, only);
          process.stdout.write(n ? `${n} dead letter(s) of ${name} re-queued; run: tributary deliver ${name}\n` : `no dead letters of destination ${name}${only ? ' with those ids' : ''}\n`);
        });
      } catch (err) {
        reportError(err, !!globals(sub).verbose);
      }
    });
}
