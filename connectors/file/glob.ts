import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';

/*
 * A small glob: `*` (any characters within one path segment), `?` (one
 * character) and `**` (any number of directories, including none). Node 20 has
 * no fs.glob. Wildcards do not match names starting with "." unless the
 * pattern segment itself starts with "."; `**` does not follow symbolic links to
 * directories (no cycles). Everything else, `[` and `{` included, is literal.
 */

const WILDCARD = /[*?]/;

export function hasGlob(pattern: string): boolean {
  return WILDCARD.test(pattern);
}

function segmentsOf(absolute: string): string[] {
  return absolute.split(sep === '\\' ? /[\\/]/ : '/').filter((s) => s !== '');
}

/** The directory before the first wildcard segment: where matching starts. */
export function globBase(pattern: string, cwd = process.cwd()): string {
  const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  const segs = segmentsOf(abs);
  const first = segs.findIndex((s) => hasGlob(s));
  const fixed = first === -1 ? segs : segs.slice(0, first);
  const root = abs.startsWith(sep) ? sep : '';
  return root + fixed.join(sep) || sep;
}

/** One path segment of a pattern as an anchored regular expression. */
export function segmentMatcher(segment: string): RegExp {
  let re = '';
  for (const ch of segment) {
    if (ch === '*') re += '[^/\\\\]*';
    else if (ch === '?') re += '[^/\\\\]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

async function kind(path: string, dirent?: Dirent): Promise<'file' | 'dir' | 'other' | 'missing'> {
  if (dirent && !dirent.isSymbolicLink()) return dirent.isFile() ? 'file' : dirent.isDirectory() ? 'dir' : 'other';
  try {
    const s = await stat(path);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'missing';
  }
}

async function walk(dir: string, segs: string[], i: number, out: Set<string>): Promise<void> {
  const seg = segs[i];
  const last = i === segs.length - 1;
  if (seg === '**') {
    if (last) {
      // A trailing `**` means every file below.
      for (const e of await entries(dir)) {
        if (e.name.startsWith('.')) continue;
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p, segs, i, out);
        else if ((await kind(p, e)) === 'file') out.add(p);
      }
      return;
    }
    await walk(dir, segs, i + 1, out);
    for (const e of await entries(dir)) {
      if (e.isDirectory() && !e.name.startsWith('.')) await walk(join(dir, e.name), segs, i, out);
    }
    return;
  }
  if (!hasGlob(seg)) {
    const p = join(dir, seg);
    const k = await kind(p);
    if (last && k === 'file') out.add(p);
    else if (!last && k === 'dir') await walk(p, segs, i + 1, out);
    return;
  }
  const re = segmentMatcher(seg);
  for (const e of await entries(dir)) {
    if (e.name.startsWith('.') && !seg.startsWith('.')) continue;
    if (!re.test(e.name)) continue;
    const p = join(dir, e.name);
    const k = await kind(p, e);
    if (last && k === 'file') out.add(p);
    else if (!last && k === 'dir') await walk(p, segs, i + 1, out);
  }
}

/**
 * Regular files matching `pattern` (absolute, or relative to `cwd`), as absolute
 * paths sorted by code unit so every run sees the same order.
 */
export async function expandGlob(pattern: string, cwd = process.cwd()): Promise<string[]> {
  const abs = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  const base = globBase(abs);
  const baseSegs = segmentsOf(base);
  const rest = segmentsOf(abs).slice(baseSegs.length);
  const out = new Set<string>();
  if (rest.length === 0) {
    if ((await kind(abs)) === 'file') out.add(abs);
  } else {
    await walk(base, rest, 0, out);
  }
  return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
