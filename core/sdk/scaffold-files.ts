/** The rest of a scaffolded plugin: definition, config, fixtures, tests, README, package.json. */
import type { ScaffoldNames } from './scaffold-names.js';

export interface Parts {
  source: boolean;
  destination: boolean;
}

export function indexTemplate(n: ScaffoldNames, p: Parts): string {
  const imports = [
    `import { definePlugin } from '${n.defineImport}';`,
    `import { PLUGIN_API_VERSION } from '${n.typesImport}';`,
    p.destination ? `import { ${n.camel}Destination } from './destination.js';` : '',
    p.source ? `import { ${n.camel}Source } from './source.js';` : '',
  ].filter(Boolean);
  const parts = [p.source ? `  sources: [${n.camel}Source],` : '', p.destination ? `  destinations: [${n.camel}Destination],` : ''].filter(Boolean);
  return `${imports.join('\n')}

export default definePlugin({
  name: 'tributary-connector-${n.id}',
  version: '0.1.0',
  apiVersion: PLUGIN_API_VERSION,
${parts.join('\n')}
});
`;
}

export function configTemplate(n: ScaffoldNames, p: Parts): string {
  const out = [`import { z } from 'zod';\n`];
  if (p.source) {
    out.push(`/** Source config (\`sources[].config\`). TODO(${n.id}): your system's URL, credentials (list them in spec.secrets). */
export const sourceConfig = z
  .object({
    /** A JSON file holding an array of records, relative to the config file. */
    path: z.string().min(1),
    /** Send a resumable state every N records. */
    checkpointEvery: z.number().int().positive().default(1000),
  })
  .strict();
export type SourceConfig = z.infer<typeof sourceConfig>;
`);
  }
  if (p.destination) {
    out.push(`/** Destination config (\`destinations[].config\`). */
export const destinationConfig = z
  .object({
    /** The folder profiles are written to, one JSON file each, relative to the config file. */
    dir: z.string().min(1),
  })
  .strict();
export type DestinationConfig = z.infer<typeof destinationConfig>;
`);
  }
  return out.join('\n');
}

const people = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: String(i + 1),
    email: `person${i + 1}@example.com`,
    phone: `+4420794601${String(i + 10)}`,
    // Records 2 and 3 share a cursor value, so a checkpoint falls inside a tie.
    updated_at: ['2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z', '2026-01-04T00:00:00Z', '2026-01-05T00:00:00Z', '2026-01-05T00:00:00Z'][i],
  }));

export function fixtureFiles(n: ScaffoldNames, p: Parts): Record<string, string> {
  const files: Record<string, string> = {};
  const kit: string[] = [`# The kit fixture: \`tributary test connector <this folder> --config __fixtures__/kit.yaml\`.`, `# Paths resolve against this file's folder.`];
  if (p.source) {
    files['__fixtures__/people.json'] = `${JSON.stringify(people(5), null, 2)}\n`;
    files['__fixtures__/people-more.json'] = `${JSON.stringify(people(7), null, 2)}\n`;
    kit.push(`source:
  connector: ${n.id}
  config: { path: people.json, checkpointEvery: 2 }
  stream: { name: people, mode: incremental, cursorField: updated_at, primaryKey: [id] }
  expectedCount: 5
  farFutureState: { cursor: '9999-12-31T00:00:00Z', id: '' }
  # The same data with two newer records: reading it from the saved state yields only them.
  incremental: { config: { path: people-more.json, checkpointEvery: 2 }, newKeys: ['6', '7'] }
  badConfigs:
    - { name: no path, config: {}, message: path }
    - { name: missing file, config: { path: no-such-file.json }, message: 'cannot read' }`);
  }
  if (p.destination) {
    files['__fixtures__/.gitignore'] = 'kit-output/\n';
    kit.push(`destination:
  connector: ${n.id}
  config: { dir: kit-output }
  # An upsert without a profile can never succeed: it must come back permanent.
  permanentItem: { key: broken, op: upsert }
  badConfigs:
    - { name: no dir, config: {}, message: dir }
    - { name: dir is a file, config: { dir: kit.yaml/out }, message: 'not a folder|cannot use' }`);
  }
  files['__fixtures__/kit.yaml'] = `${kit.join('\n')}\n`;
  return files;
}

export function unitTestTemplate(n: ScaffoldNames): string {
  return `import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKit } from '${n.kitImport}';
import { loadKitFixture } from '${n.fixtureImport}';

const here = dirname(fileURLToPath(import.meta.url));

describe('${n.id} connector', () => {
  it('passes the connector kit against the bundled fixture', async () => {
    const report = await runKit(here, loadKitFixture(join(here, '__fixtures__', 'kit.yaml')));
    const failed = report.results.filter((r) => r.verdict === 'fail').map((r) => \`\${r.check}: \${r.reason}\`);
    expect(failed).toEqual([]);
    expect(report.results.some((r) => r.verdict === 'pass')).toBe(true);
  });
});
`;
}

export function integrationTestTemplate(n: ScaffoldNames): string {
  return `/*
 * ==========================================================================
 *  AUTHOR: POINT THIS TEST AT YOUR SYSTEM.
 *  Until you do, it runs the kit against the bundled fixture like the unit
 *  test. Write a kit fixture for a test account of your system (its config,
 *  how many records it holds, a far-future state, bad configs) and set
 *  ${n.id.toUpperCase().replace(/-/g, '_')}_KIT_FIXTURE to its path.
 * ==========================================================================
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runKit } from '${n.kitImport}';
import { loadKitFixture } from '${n.fixtureImport}';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = process.env.${n.id.toUpperCase().replace(/-/g, '_')}_KIT_FIXTURE ?? join(here, '__fixtures__', 'kit.yaml');

describe('${n.id} against a real system', () => {
  it('passes the connector kit', async () => {
    const report = await runKit(here, loadKitFixture(fixture), { timeoutMs: 30_000 });
    expect(report.results.filter((r) => r.verdict === 'fail').map((r) => \`\${r.check}: \${r.reason}\`)).toEqual([]);
  });
});
`;
}

export function packageJsonTemplate(n: ScaffoldNames): string {
  const pkg = {
    name: `tributary-connector-${n.id}`,
    version: '0.1.0',
    description: `Tributary connector plugin: ${n.id}`,
    type: 'module',
    main: 'dist/index.js',
    types: 'dist/index.d.ts',
    files: ['dist'],
    keywords: ['tributary-plugin'],
    engines: { node: '>=20.19' },
    scripts: { build: 'tsc', prepare: 'tsc' },
    peerDependencies: { tributary: '*', zod: '^4' },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

export function readmeTemplate(n: ScaffoldNames, p: Parts, folder: string): string {
  const ids = [p.source ? `\`${n.id}\` (source)` : '', p.destination ? `\`${n.id}\` (destination)` : ''].filter(Boolean).join(' and ');
  return `# ${n.id} connector

A Tributary plugin with ${ids}. Scaffolded by \`tributary new connector\`: it works
against the bundled fixture; replace the TODO(${n.id}) parts with calls to your system.

## Test it

\`\`\`sh
npx vitest run ${folder}
\`\`\`

Once built (\`npm run build\` in the Tributary checkout compiles \`plugins/**\`), the kit also runs from the CLI:

\`\`\`sh
npm run tributary -- test connector ${n.id} --config ${folder}/__fixtures__/kit.yaml
\`\`\`

## Use it

In a Tributary checkout's \`plugins/\` folder it loads like a built-in connector once built; anywhere
else, name its folder (relative to the config file) or its npm package under \`plugins:\`.

\`\`\`yaml
${p.source ? `sources:
  - name: ${n.id}
    connector: ${n.id}
    config: { path: ./people.json }
    streams:
      - name: people
        mode: incremental
        cursorField: updated_at
` : ''}\`\`\`

## Publish it

\`package.json\` is ready for \`npm publish\` once \`tsc\` builds \`dist/\`; users then list the package name under \`plugins:\`.
`;
}
