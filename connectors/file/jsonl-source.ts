import type { FileHandle } from 'node:fs/promises';
import type { FieldSchema, SourceConnector } from '../../core/plugin/types.js';
import { DEFAULT_MAX_RECORD_SIZE, fileSourceConfigSchema, jsonlStreamSchema, type FileSourceConfig, type JsonlStreamConfig } from './config.js';
import { describeFiles, guessCursorFields, guessPrimaryKey } from './describe.js';
import { checkConnectorPath, checkStreamPaths } from './file-set.js';
import { batchedRows, parseStreamConfig, readFileStreams, type BatchedRows, type RowReaderInput } from './read-files.js';
import { decodedChunks, splitLines } from './text-input.js';
import { jsonlRowBatches } from './text-rows.js';

/** Lines `discover` samples per file for field names and types. */
export const DISCOVER_SAMPLE_LINES = 100;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Rows of one JSON Lines file: every non-blank line must be one JSON object. */
export function readJsonlRows(input: RowReaderInput<JsonlStreamConfig>): BatchedRows {
  return batchedRows(() => jsonlRowBatches(decodedChunks(input.handle, input.size, input.config.encoding), input.config));
}

function jsonType(v: unknown): FieldSchema['type'][number] {
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  const k = kindOf(v);
  return k === 'string' || k === 'boolean' || k === 'object' || k === 'array' || k === 'null' ? k : 'string';
}

/** Top-level fields of the first lines, with every JSON type seen for each (integer widened to number when mixed). */
async function jsonlFields(handle: FileHandle, size: number): Promise<Record<string, FieldSchema>> {
  const types = new Map<string, Set<FieldSchema['type'][number]>>();
  let seen = 0;
  for await (const l of splitLines(decodedChunks(handle, size, 'utf8'), DEFAULT_MAX_RECORD_SIZE)) {
    if (++seen > DISCOVER_SAMPLE_LINES) break;
    if ('tooLong' in l || l.text.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(l.text);
    } catch {
      continue;
    }
    if (!isObject(v)) continue;
    for (const [k, x] of Object.entries(v)) {
      const set = types.get(k) ?? new Set();
      set.add(jsonType(x));
      types.set(k, set);
    }
  }
  return Object.fromEntries(
    [...types].map(([k, set]) => {
      if (set.has('number')) set.delete('integer');
      return [k, { type: [...set].sort() }];
    }),
  );
}

/**
 * Source `jsonl`: reads JSON Lines files (one object per line), incrementally by
 * file and optionally by cursor field. Values keep their JSON types. See README.md.
 */
export const jsonlSource: SourceConnector<FileSourceConfig, JsonlStreamConfig> = {
  id: 'jsonl',
  kind: 'source',
  incrementalWithoutCursor: true,
  spec: { config: fileSourceConfigSchema, stream: jsonlStreamSchema },
  async check(ctx, streams) {
    const root = ctx.baseDir ?? process.cwd();
    const base = await checkConnectorPath(ctx.config.path, root);
    if (!base.ok || !streams?.length) return base;
    return checkStreamPaths(ctx.config.path, streams.map((s) => ({ name: s.name, path: jsonlStreamSchema.parse(s.config).path })), root);
  },
  async discover(ctx, streams) {
    return describeFiles(ctx.config.path, ['.jsonl', '.ndjson', '.json'], async (handle, size) => {
      const fields = await jsonlFields(handle, size);
      const names = Object.keys(fields);
      return { fields, primaryKey: guessPrimaryKey(names), cursorCandidates: guessCursorFields(names) };
    }, streams?.map((s) => ({ name: s.name, path: jsonlStreamSchema.parse(s.config).path })), ctx.baseDir);
  },
  read(ctx, streams, state) {
    return readFileStreams(ctx, streams, state, readJsonlRows, (s) => ({ ...s, config: parseStreamConfig(jsonlStreamSchema, 'jsonl', ctx.name, s.name, s.config) }));
  },
};
