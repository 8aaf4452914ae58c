import { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { configuredStreams, connectorFor, parsePluginConfig } from '../../engine/plugin-config.js';
import { testConnectorContext } from '../../engine/connector-context.js';
import { configDirOf } from '../../container.js';
import { globals, reportError, withEngine } from '../shared.js';
import { deadLettersRetryCommand, destinationStatus, destinationStatusLines } from './deliver.js';
import { countOption } from './warnings.js';

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
              const streams = configuredStreams(c, s, i, loaded);
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

export function discoverCommand(): Command {
  return new Command('discover')
    .description('List the streams a source offers, with fields, primary key and cursor candidates')
    .argument('<source>', 'source name from the config')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: { json?: boolean }, cmd: Command) => {
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
    .description('Show the last runs')
    .option('-n, --limit <n>', 'how many runs', '20')
    .option('--json', 'print JSON')
    .action(async (opts: { limit: string; json?: boolean }, cmd: Command) => {
      try {
        await withEngine(cmd, async ({ engine, store }) => {
          const runs = await store.recentRuns(Number(opts.limit));
          const destinations = await destinationStatus(engine, store);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ runs, destinations }, null, 2)}\n`);
            return;
          }
          for (const line of destinationStatusLines(destinations)) process.stdout.write(`${line}\n`);
          if (!runs.length) process.stdout.write('no runs yet\n');
          for (const r of runs) {
            const streams = r.summary ? Object.values(r.summary.streams) : [];
            const read = streams.reduce((a, s) => a + s.read, 0);
            const dead = streams.reduce((a, s) => a + s.deadLettered, 0);
            const detail = r.status === 'failed' ? r.error : r.kind === 'sync' ? `read ${read}, dead-lettered ${dead}` : '';
            process.stdout.write(`#${r.id} ${r.kind} ${r.name} ${r.status} ${r.startedAt}${detail ? `  ${detail}` : ''}\n`);
          }
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}

/** Payload shown in the text list: one line, cut to fit. */
const PAYLOAD_WIDTH = 110;

export function deadLettersCommand(): Command {
  const cmd = new Command('dead-letters').description('Records and deliveries that could not be processed');
  cmd
    .command('list')
    .description('List dead letters, newest first, each with its reason and payload')
    .option('-n, --limit <n>', 'how many', '50')
    .option('--sync <name>', 'only this source or destination')
    .option('--full', 'print whole payloads (indented JSON) instead of one cut line')
    .option('--json', 'print JSON (with payloads)')
    .action(async (opts: { limit: string; sync?: string; json?: boolean; full?: boolean }, sub: Command) => {
      try {
        const limit = countOption('--limit', opts.limit);
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
