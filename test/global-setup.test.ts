import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './crash/dataset.js';
import { staleSource } from './global-setup.js';

// The check behind "a plain `npx vitest run` never tests a stale dist/".

let root: string;
afterEach(() => rmSync(root, { recursive: true, force: true }));

function file(path: string, mtimeSec: number) {
  const p = join(root, path);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, '');
  utimesSync(p, mtimeSec, mtimeSec);
}

describe('global setup: is dist/ stale?', () => {
  it('a build newer than every source and config is current', () => {
    root = tempDir('gs');
    file('tsconfig.json', 100);
    file('core/a.ts', 100);
    file('connectors/x/b.ts', 100);
    file('core/a.test.ts', 300); // tests are not compiled into dist/
    file('dist/core/a.js', 200);
    file('dist/connectors/x/b.js', 200);
    expect(staleSource(root)).toBeUndefined();
  });

  it('old copies under __reference__ are left out, as the build leaves them out', () => {
    root = tempDir('gs');
    file('core/a.ts', 100);
    file('dist/core/a.js', 200);
    file('core/r/__reference__/old.ts', 100); // never compiled: tsconfig.build.json excludes it
    expect(staleSource(root)).toBeUndefined();
  });

  it('a source edited after the build, a source never built, or a newer tsconfig makes it stale', () => {
    root = tempDir('gs');
    file('core/a.ts', 100);
    file('dist/core/a.js', 200);
    file('connectors/x/b.ts', 300);
    file('dist/connectors/x/b.js', 200);
    expect(staleSource(root)).toBe(join(root, 'connectors/x/b.ts'));
    file('dist/connectors/x/b.js', 400);
    file('plugins/p/index.ts', 100);
    expect(staleSource(root)).toBe(join(root, 'plugins/p/index.ts'));
    file('dist/plugins/p/index.js', 400);
    expect(staleSource(root)).toBeUndefined();
    file('tsconfig.build.json', 500);
    expect(staleSource(root)).toBeDefined();
  });
});
