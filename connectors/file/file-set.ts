import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { basename, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { CheckResult } from '../../core/plugin/types.js';
import { expandGlob, globBase, hasGlob } from './glob.js';

/**
 * The directory relative stream paths start from: the connector `path` (its
 * fixed part when it is a glob, its folder when it is a file), else `cwd`
 * (the config file's folder when the engine says so, see `ctx.baseDir`).
 */
export async function baseDirOf(connectorPath: string | undefined, cwd = process.cwd()): Promise<string> {
  if (!connectorPath) return cwd;
  const abs = resolve(cwd, connectorPath);
  if (hasGlob(abs)) return globBase(abs);
  try {
    return (await stat(abs)).isFile() ? resolve(abs, '..') : abs;
  } catch {
    return abs;
  }
}

/** How a file is named in origins and messages: relative to the working directory when inside it. */
export function displayPath(abs: string, cwd = process.cwd()): string {
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : abs;
}

/** Files of a path or glob; a plain directory is not a match (say `dir/*.csv`). */
export async function filesOf(pattern: string, baseDir: string): Promise<string[]> {
  return expandGlob(isAbsolute(pattern) ? pattern : resolve(baseDir, pattern));
}

/** The files a stream reads, in sorted order. No match is a ConfigError naming the stream and the path. */
export async function streamFiles(stream: string, pattern: string, baseDir: string): Promise<string[]> {
  const abs = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
  let files: string[];
  try {
    files = await filesOf(pattern, baseDir);
  } catch (err) {
    throw new ConfigError(`path ${pattern} (${abs}) cannot be listed: ${(err as Error).message}`, { stream, file: pattern }, { cause: err });
  }
  if (files.length > 0) return files;
  if (!hasGlob(abs)) {
    const isDir = await stat(abs).then((s) => s.isDirectory(), () => false);
    if (isDir) throw new ConfigError(`path ${pattern} is a directory; use a glob such as ${join(pattern, '*')}`, { stream, file: pattern });
    throw new ConfigError(`file ${pattern} does not exist (resolved to ${abs})`, { stream, file: pattern });
  }
  throw new ConfigError(`glob ${pattern} matches no file (searched from ${globBase(abs)})`, { stream, file: pattern });
}

/**
 * What `check` can verify: streams are not passed to check, so only the
 * connector `path` is tested (a readable directory, or a path/glob matching at
 * least one readable file). Stream paths fail at read time with a ConfigError.
 */
export async function checkConnectorPath(connectorPath: string | undefined, root = process.cwd()): Promise<CheckResult> {
  if (!connectorPath) return { ok: true };
  const abs = resolve(root, connectorPath);
  try {
    if (!hasGlob(abs) && (await stat(abs).then((s) => s.isDirectory(), () => false))) {
      await access(abs, constants.R_OK | constants.X_OK);
      return { ok: true };
    }
    const files = await expandGlob(abs);
    if (files.length === 0) return { ok: false, message: `path ${connectorPath} matches no file (resolved to ${abs})` };
    for (const f of files) await access(f, constants.R_OK);
    return { ok: true };
  } catch (err) {
    return { ok: false, message: `path ${connectorPath}: ${(err as Error).message}` };
  }
}

/**
 * Every stream path resolves to at least one readable file. `check(ctx)` cannot
 * call this (the contract passes no streams); an engine that knows the streams can.
 */
export async function checkStreamPaths(
  connectorPath: string | undefined,
  streams: Array<{ name: string; path: string }>,
  root = process.cwd(),
): Promise<CheckResult> {
  const baseDir = await baseDirOf(connectorPath, root);
  for (const s of streams) {
    try {
      for (const f of await streamFiles(s.name, s.path, baseDir)) await access(f, constants.R_OK);
    } catch (err) {
      const message = err instanceof ConfigError ? err.describe() : `stream ${s.name}: ${(err as Error).message}`;
      return { ok: false, message };
    }
  }
  return { ok: true };
}

/**
 * Files `discover` describes: those the connector `path` matches, or for a
 * directory the files directly inside it with one of `extensions`.
 */
export async function discoverableFiles(connectorPath: string | undefined, extensions: string[], root = process.cwd()): Promise<string[]> {
  if (!connectorPath) return [];
  const abs = resolve(root, connectorPath);
  if (!hasGlob(abs) && (await stat(abs).then((s) => s.isDirectory(), () => false))) {
    const names = (await readdir(abs, { withFileTypes: true }))
      .filter((e) => e.isFile() && extensions.includes(extname(e.name).toLowerCase()))
      .map((e) => join(abs, e.name));
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  return expandGlob(abs);
}

/** Stream names from file names: base name without extension, made YAML-safe and unique (`x`, `x_2`). */
export function streamNames(files: string[]): string[] {
  const used = new Set<string>();
  return files.map((f) => {
    const stem = basename(f, extname(f)).replace(/[^A-Za-z0-9_-]/g, '_').replace(/^[^A-Za-z0-9]+/, '') || 'file';
    let name = stem;
    for (let n = 2; used.has(name); n++) name = `${stem}_${n}`;
    used.add(name);
    return name;
  });
}
