import { open, type FileHandle } from 'node:fs/promises';
import { ConfigError } from '../../core/errors.js';
import type { FieldSchema, StreamDescriptor } from '../../core/plugin/types.js';
import { baseDirOf, discoverableFiles, displayPath, streamFiles, streamNames } from './file-set.js';

export interface FileDescription {
  fields: Record<string, FieldSchema>;
  primaryKey: string[];
  cursorCandidates: string[];
}

/** `id` (any case) when a column has that name: the usual row key of an export. */
export function guessPrimaryKey(columns: string[]): string[] {
  const id = columns.find((c) => c.toLowerCase() === 'id');
  return id ? [id] : [];
}

const CURSOR_NAME = /(updated|modified|changed|created)[_ ]?(at|on|date|time)?$|^(last_?modified|timestamp|ts)$/i;

/** Columns whose names suggest a time that only grows (updated_at, modifiedOn, timestamp). */
export function guessCursorFields(columns: string[]): string[] {
  return columns.filter((c) => CURSOR_NAME.test(c));
}

/**
 * With configured streams: each stream, described from the first file its path
 * matches. Without: one stream per file the connector `path` matches, named after
 * the file (base name without extension). Each file is described by `describe`.
 */
export async function describeFiles(
  connectorPath: string | undefined,
  extensions: string[],
  describe: (handle: FileHandle, size: number) => Promise<FileDescription>,
  streams?: Array<{ name: string; path: string }>,
  root = process.cwd(),
): Promise<StreamDescriptor[]> {
  let files: string[];
  let names: string[];
  if (streams?.length) {
    const baseDir = await baseDirOf(connectorPath, root);
    files = [];
    names = [];
    for (const s of streams) {
      files.push((await streamFiles(s.name, s.path, baseDir))[0]);
      names.push(s.name);
    }
  } else {
    files = await discoverableFiles(connectorPath, extensions, root);
    names = streamNames(files);
  }
  const out: StreamDescriptor[] = [];
  for (const [i, file] of files.entries()) {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      throw new ConfigError(`file ${displayPath(file)} cannot be read: ${(err as Error).message}`, { file: displayPath(file) }, { cause: err });
    }
    try {
      const d = await describe(handle, (await handle.stat()).size);
      out.push({ name: names[i], ...d, supportedModes: ['full_refresh', 'incremental'] });
    } finally {
      // Possibly closed already by an abandoned read stream (see decodedChunks).
      await handle.close().catch(() => undefined);
    }
  }
  return out;
}
