import { Command } from 'commander';
import { streamsYaml } from '../../sdk/discover-yaml.js';
import { ConfigError, errorMessage } from '../../errors.js';
import type { RunRecord } from '../../store/types.js';
import type { SourceConfig } from '../../config/schema.js';
import { compileMapping } from '../../schema/mapping.js';
import { configuredStreams, connectorFor, parsePluginConfig } from '../../engine/plugin-config.js';
import { testConnectorContext } from '../../engine/connector-context.js';
import { configDirOf } from '../../container.js';
import { countsLine, globals, positiveInt, reportError, withEngine } from '../shared.js';
import { queueStatus, queueStatusLines } from '../../queue/status.js';
import { deadLettersRetryCommand, describeCounts, destinationStatus, destinationStatusLines } from './deliver.js';

export function validateCommand(): Command {
  return new Command('validate')
    .description('Check the config file, its plugins and every connector config; with --check also connect to each source')
    .option('--check', 'also run each connector check (connects to servers)')
    .action(async (opts: { check?: boolean }, cmd: Command) => {
      try {
        await withEngine(cmd, async ({ loaded, registry, logger, engine }) => {
          const problems: string[] = [];
          for (const b of registry.broken) problems.push(`plugin ${b.file}: ${b.error}`);
          const checks: Array<Promise<void>> = [];
          loaded.config.sources.forEach((s, i) => {
            try {
              const c = connectorFor(registry, 'source', s.connector, ['sources', i], loaded, s.name);
              const cfg = parsePluginConfig(c.spec.config, s.config, ['sources', i, 'config'], loaded, s.name);
              // With the fields each mapping reads, so a connector's check can report a column that does not exist.
              const streams = configuredStreams(c, s, i, loaded).map((st, j) => ({ ...st, fields: mappedFields(s.streams[j], st.primaryKey ?? []) }));
              if (opts.check) {
                checks.push(
                  c.check({ ...testConnectorContext(s.name, cfg, logger), baseDir: configDirOf(loaded) }, streams).then((r) => {
                    if (!r.ok) problems.push(`source ${s.name}: ${r.message}`);
                  }),
                );
              }
            } catch (err) {
              problems.push(err instanceof ConfigError ? err.describe() : `sources[${i}] (${s.name}): ${(err as Error).message}`);
            }
          });
          loaded.config.destinations.forEach((d, i) => {
            try {
              // The plan checks the connector, its config, the mapping, the filter and the budgets; it logs its warnings.
              const plan = engine.destinationPlan(d.name);
              const c = plan.connector;
              const cfg = plan.config;
              if (opts.check) {
                checks.push(
                  c.check({ ...testConnectorContext(d.name, cfg, logger), baseDir: configDirOf(loaded) }).then((r) => {
                    if (!r.ok) problems.push(`destination ${d.name}: ${r.message}`);
                  }),
                );
              }
            } catch (err) {
              problems.push(err instanceof ConfigError ? err.describe() : `destinations[${i}] (${d.name}): ${(err as Error).message}`);
            }
          });
          await Promise.all(checks);
          if (problems.length) {
            for (const p of problems) process.stderr.write(`error: ${p}\n`);
            process.exitCode = 2;
            return;
          }
          process.stdout.write(
            `${loaded.file}: ok (${loaded.config.sources.length} sources, ${loaded.config.destinations.length} destinations${opts.check ? ', all reachable' : ''})\n`,
          );
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}

/** The source fields a stream's mapping reads. */
function mappedFields(stream: SourceConfig['streams'][number], primaryKey: string[]): string[] {
  const { fieldsRead } = compileMapping(stream.mapping, { source: '', stream: stream.name, kind: stream.kind, primaryKey, defaultRegion: 'US', now: () => '' });
  return [...fieldsRead];
}

export function discoverCommand(): Command {
  return new Command('discover')
    .description('List the streams a source offers, with fields, primary key and cursor candidates')
    .argument('<source>', 'source name from the config')
    .option('--json', 'print JSON')
    .option('--yaml', 'print ready-to-paste stream stanzas (primary key, cursor, a mapping skeleton with email/phone guesses)')
    .action(async (name: string, opts: { json?: boolean; yaml?: boolean }, cmd: Command) => {
      try {
        await withEngine(cmd, async ({ loaded, registry, logger }) => {
          const i = loaded.config.sources.findIndex((s) => s.name === name);
          if (i < 0) throw new ConfigError(`no source named "${name}"`, { file: loaded.file });
          const s = loaded.config.sources[i];
          const c = connectorFor(registry, 'source', s.connector, ['sources', i], loaded, s.name);
          const cfg = parsePluginConfig(c.spec.config, s.config, ['sources', i, 'config'], loaded, s.name);
          const streams = await c.discover({ ...testConnectorContext(s.name, cfg, logger), baseDir: configDirOf(loaded) }, configuredStreams(c, s, i, loaded));
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(streams, null, 2)}\n`);
            return;
          }
          if (opts.yaml) {
            const configured = new Map(s.streams.map((x) => [x.name, x]));
            const stanzas = streams.map((st) => {
              const c = configured.get(st.name);
              return { stream: st, config: c?.config, primaryKey: c ? [c.primaryKey].flat() : undefined };
            });
            process.stdout.write(streamsYaml(stanzas));
            return;
          }
          if (!streams.length) {
            process.stdout.write(`source ${name} (${s.connector}) reports no streams; see connectors/*/README.md for what its discover looks at\n`);
          }
          for (const st of streams) {
            process.stdout.write(`${st.name}  primary key: ${st.primaryKey.join(', ') || '-'}  cursor candidates: ${st.cursorCandidates.join(', ') || '-'}\n`);
            for (const [f, schema] of Object.entries(st.fields)) {
              process.stdout.write(`  ${f}: ${schema.type.join('|')}${schema.sourceType ? ` (${schema.sourceType})` : ''}\n`);
            }
          }
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}

export function statusCommand(): Command {
  return new Command('status')
    .description('Show the last runs: status, duration, counts (live while running), deliveries; with `queue:` also the queues, workers and who runs what')
    .option('-n, --limit <n>', 'how many runs', positiveInt, 20)
    .option('--json', 'print JSON')
    .action(async (opts: { limit: number; json?: boolean }, cmd: Command) => {
      try {
        await withEngine(cmd, async ({ engine, store, logger }) => {
          // Runs whose process died show as what they are; a store locked by a long rebuild only delays that.
          await engine.interruptAbandonedRuns().catch((err) => logger.debug(`cannot check for abandoned runs: ${errorMessage(err)}`));
          const runs = await store.recentRuns(opts.limit);
          const destinations = await destinationStatus(engine, store);
          // Distributed mode: what the queue holds and who runs what (core/queue/status.ts).
          const cfg = engine.config.queue;
          const queue = cfg
            ? await queueStatus(cfg, engine.config.sources.map((s) => s.name), (await store.recentRuns(Math.max(opts.limit, 200))).filter((r) => r.status === 'running'))
            : undefined;
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ runs, destinations, ...(queue ? { queue } : {}) }, null, 2)}\n`);
            return;
          }
          if (queue) for (const line of queueStatusLines(queue)) process.stdout.write(`${line}\n`);
          for (const line of destinationStatusLines(destinations)) process.stdout.write(`${line}\n`);
          if (!runs.length) process.stdout.write('no runs yet\n');
          const now = Date.now();
          for (const r of runs) process.stdout.write(`${formatRun(r, now)}\n`);
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}

/** Payload shown in the text list: one line, cut to fit. */
const PAYLOAD_WIDTH = 110;

/** `1h 02m`, `3m 05s`, `12.3s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(Math.max(ms, 0) / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One line of `status`: what ran, how it ended and when, how long, what it did. */
export function formatRun(r: RunRecord, now: number): string {
  const started = Date.parse(r.startedAt);
  const when = r.finishedAt
    ? `${r.startedAt} -> ${r.finishedAt} (${formatDuration(Date.parse(r.finishedAt) - started)})`
    : `since ${r.startedAt} (${formatDuration(now - started)} so far${r.pid ? `, pid ${r.pid} on ${r.host}` : ''})`;
  const parts: string[] = [];
  if (r.summary && r.kind === 'sync') parts.push(countsLine(r.summary));
  else if (r.kind === 'sync') parts.push('nothing committed');
  for (const [name, d] of Object.entries(r.summary?.destinations ?? {})) {
    parts.push(`${name}: ${d.error ? `FAILED: ${d.error}; ` : ''}${describeCounts(d)}`);
  }
  if (r.error) parts.push(r.error);
  return `#${r.id} ${r.kind} ${r.name} ${r.status} ${when}  ${parts.join('; ')}`.trimEnd();
}

export function deadLettersCommand(): Command {
  const cmd = new Command('dead-letters').description('Records and deliveries that could not be processed');
  cmd
    .command('list')
    .description('List dead letters, newest first, each with its reason and payload')
    .option('-n, --limit <n>', 'how many', positiveInt, 50)
    .option('--sync <name>', 'only this source or destination')
    .option('--full', 'print whole payloads (indented JSON) instead of one cut line')
    .option('--json', 'print JSON (with payloads)')
    .action(async (opts: { limit: number; sync?: string; json?: boolean; full?: boolean }, sub: Command) => {
      try {
        const limit = opts.limit;
        await withEngine(sub, async ({ store, loaded }) => {
          if (opts.sync) {
            const known = [...loaded.config.sources, ...loaded.config.destinations].map((x) => x.name);
            if (!known.includes(opts.sync)) {
              throw new ConfigError(`--sync: no source or destination named "${opts.sync}" (known: ${known.join(', ') || 'none'})`, { file: loaded.file });
            }
          }
          const items = await store.listDeadLetters({ limit, sync: opts.sync });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
            return;
          }
          if (!items.length) process.stdout.write(`no dead letters${opts.sync ? ` for ${opts.sync}` : ''}\n`);
          for (const d of items) {
            process.stdout.write(`#${d.id} ${d.sync}/${d.stream}${d.recordId ? ` record ${d.recordId}` : ''}${d.origin ? ` at ${d.origin}` : ''}: ${d.reason}\n`);
            if (d.payload === null || d.payload === undefined) continue;
            if (opts.full) {
              const text = typeof d.payload === 'string' ? d.payload : JSON.stringify(d.payload, null, 2);
              process.stdout.write(`${text.replace(/^/gm, '    ')}\n`);
            } else {
              const line = JSON.stringify(d.payload).replace(/\s+/g, ' ');
              process.stdout.write(`    payload: ${line.length > PAYLOAD_WIDTH ? `${line.slice(0, PAYLOAD_WIDTH - 1)}…` : line}\n`);
            }
          }
        });
      } catch (err) {
        reportError(err, !!globals(sub).verbose);
      }
    });
  cmd.addCommand(deadLettersRetryCommand());
  return cmd;
}
