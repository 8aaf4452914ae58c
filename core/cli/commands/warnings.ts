import { Command } from 'commander';
import type { LoadedConfig } from '../../config/load.js';
import { ConfigError } from '../../errors.js';
import { globals, reportError, withEngine } from '../shared.js';

/** Examples shown per group. */
const EXAMPLES = 3;

/** A count option: a whole number of at least 1, or a ConfigError naming the option. */
export function countOption(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(`${name}: expected a whole number of 1 or more, got "${text}"`);
  }
  return n;
}

/** --sync and --stream must name something in the config, or nothing could ever match. */
function checkScope(loaded: LoadedConfig, sync: string | undefined, stream: string | undefined): void {
  const sources = loaded.config.sources;
  if (sync && !sources.some((s) => s.name === sync)) {
    throw new ConfigError(`--sync: no source named "${sync}" (sources: ${sources.map((s) => s.name).join(', ') || 'none'})`, { file: loaded.file });
  }
  if (stream) {
    const streams = sources.filter((s) => !sync || s.name === sync).flatMap((s) => s.streams.map((t) => t.name));
    if (!streams.includes(stream)) {
      throw new ConfigError(`--stream: no stream named "${stream}"${sync ? ` in source ${sync}` : ''} (streams: ${[...new Set(streams)].join(', ') || 'none'})`, {
        file: loaded.file,
      });
    }
  }
}

const show = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};

export function warningsCommand(): Command {
  const cmd = new Command('warnings').description('Field warnings of stored records: values that were kept out of identifiers or traits, and why');
  cmd
    .command('list')
    .description('Warnings grouped by sync, stream, field and reason, biggest first, with a few example records')
    .option('--sync <name>', 'only this source')
    .option('--stream <name>', 'only this stream')
    .option('-n, --limit <n>', 'how many groups', '50')
    .option('--json', 'print JSON')
    .action(async (opts: { sync?: string; stream?: string; limit: string; json?: boolean }, sub: Command) => {
      try {
        const limit = countOption('--limit', opts.limit);
        await withEngine(sub, async ({ store, loaded }) => {
          checkScope(loaded, opts.sync, opts.stream);
          const { groups, total } = await store.fieldWarnings({ sync: opts.sync, stream: opts.stream, limit, examples: EXAMPLES });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(groups, null, 2)}\n`);
            return;
          }
          if (!groups.length) {
            process.stdout.write(`no field warnings (sync ${opts.sync ?? 'any'}, stream ${opts.stream ?? 'any'})\n`);
            return;
          }
          for (const g of groups) {
            process.stdout.write(`${g.sync}/${g.stream}  ${g.field}: ${g.reason}  ${g.count} record${g.count === 1 ? '' : 's'}\n`);
            for (const e of g.examples) process.stdout.write(`    record ${e.recordId}: ${show(e.value)}\n`);
          }
          if (total > groups.length) process.stdout.write(`(${total - groups.length} more group${total - groups.length === 1 ? '' : 's'}; raise --limit)\n`);
        });
      } catch (err) {
        reportError(err, !!globals(sub).verbose);
      }
    });
  return cmd;
}
