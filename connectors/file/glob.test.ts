import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandGlob, globBase, segmentMatcher } from './glob.js';
import { tempDir, type TempDir } from './__fixtures__/harness.js';

let dir: TempDir;
const rel = (files: string[]) => files.map((f) => f.slice(dir.path.length + 1));

beforeAll(async () => {
  dir = await tempDir();
  for (const d of ['sub/deep', '.hidden', 'other']) await mkdir(join(dir.path, d), { recursive: true });
  for (const f of ['a.csv', 'x1.csv', 'x22.csv', 'a+b (1).csv', 'sub/c.csv', 'sub/.f.csv', 'sub/deep/d.csv', '.hidden/e.csv', 'other/g.txt']) {
    await writeFile(join(dir.path, f), 'id\n1\n');
  }
  // A loop: `**` must not follow it.
  await symlink(dir.path, join(dir.path, 'sub', 'loop'));
});
afterAll(() => dir.remove());

describe('glob', () => {
  it.each([
    ['*.csv', ['a+b (1).csv', 'a.csv', 'x1.csv', 'x22.csv']],
    ['x?.csv', ['x1.csv']],
    ['a+b (?).csv', ['a+b (1).csv']],
    ['**/*.csv', ['a+b (1).csv', 'a.csv', 'sub/c.csv', 'sub/deep/d.csv', 'x1.csv', 'x22.csv']],
    ['sub/**', ['sub/c.csv', 'sub/deep/d.csv']],
    ['**/deep/*.csv', ['sub/deep/d.csv']],
    ['.hidden/*.csv', ['.hidden/e.csv']],
    ['sub/.*.csv', ['sub/.f.csv']],
    ['*/g.txt', ['other/g.txt']],
    ['sub/c.csv', ['sub/c.csv']],
    ['sub/missing.csv', []],
    ['nowhere/*.csv', []],
  ])('%s', async (pattern, expected) => {
    expect(rel(await expandGlob(join(dir.path, pattern)))).toEqual(expected);
  });

  it('resolves a relative pattern against the given directory', async () => {
    expect(rel(await expandGlob('sub/*.csv', dir.path))).toEqual(['sub/c.csv']);
  });

  it('finds the fixed part of a pattern', () => {
    expect(globBase('/data/drops/**/*.csv')).toBe('/data/drops');
    expect(globBase('/data/x?/a.csv')).toBe('/data');
    expect(globBase('/*.csv')).toBe('/');
  });

  it('matches one segment only, with regex characters taken literally', () => {
    expect(segmentMatcher('*.csv').test('a.csv')).toBe(true);
    expect(segmentMatcher('*.csv').test('a/b.csv')).toBe(false);
    expect(segmentMatcher('a.csv').test('abcsv')).toBe(false);
  });
});
