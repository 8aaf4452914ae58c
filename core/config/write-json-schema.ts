import { writeFileSync } from 'node:fs';
import { configJsonSchema } from './json-schema.js';

/** `npm run schema`: regenerate config/tributary.schema.json. */
const out = process.argv[2] ?? 'config/tributary.schema.json';
writeFileSync(out, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${out}\n`);
