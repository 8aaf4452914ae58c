import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Vitest global setup: tests that launch the CLI run `dist/`, so a plain
 * `npx vitest run` must never test yesterday's build. Before any test file
 * runs, every compiled source is compared with its `dist/` output and the
 * project is rebuilt (`tsc -p tsconfig.build.json`) when one is missing or
 * older. An up-to-date build costs a directory walk, not a compile.
 */

const ROOT = process.cwd();
const SOURCE_DIRS = ['core', 'connectors', 'plugins', 'bench'];
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];

function* sources(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      // __reference__ holds old copies kept for differential tests; the build excludes them.
      if (e.name !== 'node_modules' && e.name !== '__reference__') yield* sources(p);
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) {
      yield p;
    }
  }
}

/** The first source whose compiled output is missing or older than it, or undefined when dist is current. */
export function staleSource(root = ROOT): string | undefined {
  const configTime = Math.max(...CONFIGS.map((c) => (existsSync(join(root, c)) ? statSync(join(root, c)).mtimeMs : 0)));
  for (const d of SOURCE_DIRS) {
    for (const src of sources(join(root, d))) {
      const out = join(root, 'dist', relative(root, src).replace(/\.ts$/, '.js'));
      if (!existsSync(out)) return src;
      const built = statSync(out).mtimeMs;
      if (built < statSync(src).mtimeMs || built < configTime) return src;
    }
  }
  return undefined;
}

export default function setup(): void {
  const stale = staleSource();
  if (!stale) return;
  process.stderr.write(`global setup: dist/ is older than ${relative(ROOT, stale)}; building (tsc -p tsconfig.build.json)\n`);
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`the build failed, so tests of the CLI cannot run:\n${r.stdout}${r.stderr}`);
}
