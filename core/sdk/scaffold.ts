import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.js';
import { destinationTemplate } from './scaffold-destination.js';
import {
  configTemplate,
  fixtureFiles,
  indexTemplate,
  integrationTestTemplate,
  packageJsonTemplate,
  readmeTemplate,
  unitTestTemplate,
  type Parts,
} from './scaffold-files.js';
import { nameProblem, scaffoldNames } from './scaffold-names.js';
import { sourceTemplate } from './scaffold-source.js';

export interface ScaffoldOptions {
  name: string;
  /** Parent folder; the plugin goes to `<dir>/<name>`. */
  dir: string;
  source?: boolean;
  destination?: boolean;
  cwd?: string;
}

/** Write a plugin folder in the house shape. Refuses a bad id and a folder that exists and is not empty. Returns the folder and its files. */
export function scaffoldConnector(opts: ScaffoldOptions): { folder: string; files: string[] } {
  const problem = nameProblem(opts.name);
  if (problem) throw new ConfigError(problem);
  const parts: Parts = opts.source || opts.destination ? { source: !!opts.source, destination: !!opts.destination } : { source: true, destination: false };
  const cwd = opts.cwd ?? process.cwd();
  const folder = resolve(cwd, opts.dir, opts.name);
  if (existsSync(folder)) {
    if (!statSync(folder).isDirectory()) throw new ConfigError(`${folder} exists and is not a folder`);
    if (readdirSync(folder).length) throw new ConfigError(`${folder} already exists and is not empty; pick another name or --dir`);
  }
  const n = scaffoldNames(opts.name, folder);
  const shown = relative(cwd, folder).split(sep).join('/') || '.';
  const files: Record<string, string> = {
    'index.ts': indexTemplate(n, parts),
    'config.ts': configTemplate(n, parts),
    ...(parts.source ? { 'source.ts': sourceTemplate(n) } : {}),
    ...(parts.destination ? { 'destination.ts': destinationTemplate(n) } : {}),
    ...fixtureFiles(n, parts),
    [`${n.id}.test.ts`]: unitTestTemplate(n),
    [`${n.id}.integration.test.ts`]: integrationTestTemplate(n),
    'package.json': packageJsonTemplate(n),
    'README.md': readmeTemplate(n, parts, shown),
  };
  for (const [name, text] of Object.entries(files)) {
    const file = join(folder, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text, { flag: 'wx' });
  }
  return { folder, files: Object.keys(files).sort() };
}
