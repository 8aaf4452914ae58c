import { writeFileSync } from 'node:fs';
import { configJsonSchema } from './json-schema.js';
import { collectSchemaConnectors } from '../plugin/schema-connectors.js';

/** `npm run schema`: regenerate config/tributary.schema.json, with every built-in connector's options. */
const out = process.argv[2] ?? 'config/tributary.schema.json';
const connectors = await collectSchemaConnectors();
const problems: string[] = [];
writeFileSync(out, `${JSON.stringify(configJsonSchema(connectors, problems), null, 2)}\n`);
for (const b of connectors.broken) process.stderr.write(`warn: plugin not in the schema: ${b.file}: ${b.error}\n`);
for (const p of problems) process.stderr.write(`warn: no schema for ${p}\n`);
process.stdout.write(`wrote ${out}\n`);
