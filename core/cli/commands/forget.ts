import { Command } from 'commander';
import { ConfigError, errorMessage } from '../../errors.js';
import { planForget, runForget, subjectKeys, type SubjectQuery } from '../../privacy/forget.js';
import type { PrivacyRequest } from '../../privacy/forget-types.js';
import type { PluginRegistry } from '../../plugin/loader.js';
import { globals, positiveInt, reportError, withEngine } from '../shared.js';

interface ForgetOptions extends SubjectQuery {
  reason?: string;
  all?: boolean;
  suppressOnly?: boolean;
  json?: boolean;
  status?: boolean;
  id?: number;
  deliver: boolean;
}

function describeRequest(r: PrivacyRequest): string {
  const counts = Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing';
  const lines = [`#${r.id} ${r.kind} at ${r.at}: ${r.outcome}${r.reason ? ` (reason: ${r.reason})` : ''}; ${counts}`];
  for (const d of r.destinations) {
    lines.push(`  ${d.destination}: ${d.status.replace('_', ' ')} after ${d.attempts} attempt(s), ${d.updatedAt}${d.error ? `: ${d.error}` : ''}`);
  }
  return lines.join('\n');
}

function snapshotConnector(registry: PluginRegistry, id: string): boolean {
  try {
    return registry.destination(id).delivery === 'snapshot';
  } catch {
    return false;
  }
}

const subjectOptions = (c: Command) =>
  c
    .option('--email <email>', 'the person\'s email address')
    .option('--phone <phone>', 'the person\'s phone number (international form, or in normalize.defaultRegion)')
    .option('--external-id <namespace:value>', 'an external id, e.g. crm:CRM-1');

export function forgetCommand(): Command {
  const cmd = new Command('forget')
    .description('Delete a person everywhere (store and destinations) and stop collecting them; --status lists requests')
    .option('--profile <id>', 'a profile id (or a merged-away id)')
    .option('--reason <text>', 'why (kept in the audit log: a ticket number, not personal data)')
    .option('--all', 'when the identifiers match several profiles, forget all of them')
    .option('--suppress-only', 'stop collecting the person without deleting what is held')
    .option('--no-deliver', 'queue the destination deletes for the next delivery run instead of sending them now')
    .option('--status', 'list forget requests and their per-destination status')
    .option('--id <n>', 'with --status: one request', positiveInt)
    .option('--json', 'machine-readable output');
  subjectOptions(cmd);
  cmd.action(async (opts: ForgetOptions, sub: Command) => {
    try {
      await withEngine(sub, async ({ store, engine, loaded, logger, registry }) => {
        if (opts.status) {
          const list = await store.privacy.requests({ id: opts.id, limit: 50 });
          if (opts.id !== undefined && !list.length) throw new ConfigError(`no forget request #${opts.id}`);
          process.stdout.write(opts.json ? `${JSON.stringify(list, null, 2)}\n` : list.length ? `${list.map(describeRequest).join('\n')}\n` : 'no forget requests\n');
          return;
        }
        const plan = await planForget(store, opts, { all: opts.all, defaultRegion: loaded.config.normalize.defaultRegion });
        if (plan.kind === 'unknown-profile') {
          process.stderr.write(`no profile ${plan.profile}\n`);
          process.exitCode = 1;
          return;
        }
        if (plan.kind === 'ambiguous') {
          process.stderr.write(
            `these identifiers match ${plan.profiles.length} profiles: ${plan.profiles.join(', ')}\n` +
              'check them with `tributary profiles get <id>`, then run again with --profile <id> (one) or --all (every one)\n',
          );
          process.exitCode = 1;
          return;
        }
        const result = await runForget(store, plan, { reason: opts.reason, suppressOnly: opts.suppressOnly });
        if (result.walTruncated === false) logger.warn('another process is reading the store: its write-ahead log is emptied at the next checkpoint, not now');
        // Sent now, under each destination's delivery lease; what fails stays queued for the next delivery run.
        const problems: string[] = [];
        if (opts.deliver) {
          // Snapshot destinations (a file) keep no ledger: rewriting them is how the person leaves them.
          const snapshots = opts.suppressOnly || !result.counts.profiles ? [] : loaded.config.destinations.filter((d) => snapshotConnector(registry, d.connector)).map((d) => d.name);
          for (const name of [...new Set([...result.deletes.map((d) => d.destination), ...snapshots])]) {
            await engine.deliverTo(name).catch((err: unknown) => problems.push(`${name}: ${errorMessage(err)}`));
          }
        }
        const [request] = await store.privacy.requests({ id: result.requestId, limit: 1 });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ ...request, walTruncated: result.walTruncated, deliveryErrors: problems }, null, 2)}\n`);
          return;
        }
        if (opts.suppressOnly) process.stdout.write(`request #${result.requestId}: suppressed ${result.suppressed} identifier(s); nothing deleted\n`);
        else if (!plan.profileIds.length && !result.deletes.length) {
          process.stdout.write(`request #${result.requestId}: nothing held about this person; suppressed ${result.suppressed} identifier(s)\n`);
        } else process.stdout.write(`${describeRequest(request)}\n`);
        for (const p of problems) process.stdout.write(`  delivery: ${p} (the delete stays queued and is retried by every delivery run)\n`);
      });
    } catch (err) {
      reportError(err, !!globals(sub).verbose);
    }
  });
  return cmd;
}

export function unsuppressCommand(): Command {
  const cmd = new Command('unsuppress')
    .description('Collect a suppressed person again (they signed up again)')
    .option('--request <n>', 'every identifier a forget or suppress-only request suppressed (see forget --status)', positiveInt)
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--json', 'machine-readable output');
  subjectOptions(cmd);
  cmd.action(async (opts: SubjectQuery & { request?: number; reason?: string; json?: boolean }, sub: Command) => {
    try {
      await withEngine(sub, async ({ store, loaded }) => {
        const keys = subjectKeys(opts, loaded.config.normalize.defaultRegion);
        if (!keys.length && opts.request === undefined) throw new ConfigError('say who: --email, --phone, --external-id or --request N');
        const r = await store.privacy.unsuppress(keys, opts.reason, opts.request);
        process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `request #${r.requestId}: ${r.removed ? `removed ${r.removed} identifier(s) from the suppression list` : 'not suppressed; nothing changed'}\n`);
      });
    } catch (err) {
      reportError(err, !!globals(sub).verbose);
    }
  });
  return cmd;
}
