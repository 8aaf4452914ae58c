import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { configJsonSchema } from '../../config/json-schema.js';
import { collectSchemaConnectors } from '../../plugin/schema-connectors.js';
import { globals, reportError } from '../shared.js';

/**
 * `tributary schema --out FILE`: the JSON Schema of tributary.yaml with the options of
 * every connector installed: the built-ins, the config's `plugins:` and any `--plugin`.
 */
export function schemaCommand(): Command {
  return new Command('schema')
    .description("Write a JSON Schema of the YAML, including every installed plugin's connector options, for editor completion")
    .option('-o, --out <file>', 'where to write it (default: print it)')
    .option('--plugin <spec...>', 'extra plugins to include: paths or npm package names')
    .action(async (opts: { out?: string; plugin?: string[] }, cmd: Command) => {
      try {
        const g = globals(cmd);
        const connectors = await collectSchemaConnectors({ configFile: g.config, plugins: opts.plugin });
        const problems: string[] = [];
        const text = `${JSON.stringify(configJsonSchema(connectors, problems), null, 2)}\n`;
        for (const b of connectors.broken) process.stderr.write(`warn: plugin not in the schema: ${b.file}: ${b.error}\n`);
        for (const p of problems) process.stderr.write(`warn: no schema for ${p}\n`);
        if (!opts.out) {
          process.stdout.write(text);
          return;
        }
        writeFileSync(opts.out, text);
        const n = connectors.sources.length + connectors.destinations.length;
        process.stdout.write(`wrote ${opts.out} (${n} connectors: ${connectors.sources.length} sources, ${connectors.destinations.length} destinations)\n`);
      } catch (err) {
        reportError(err, Boolean(globals(cmd).verbose));
      }
    });
}
