import type { FileHandle } from 'node:fs/promises';
import type { FieldSchema, SourceConnector } from '../../core/plugin/types.js';
import { fileSourceConfigSchema, xlsxStreamSchema, type FileSourceConfig, type XlsxStreamConfig } from './config.js';
import { describeFiles, guessCursorFields, guessPrimaryKey } from './describe.js';
import { checkConnectorPath, checkStreamPaths } from './file-set.js';
import { parseStreamConfig, readFileStreams, type FileRow, type RowReaderInput } from './read-files.js';
import { readXlsx } from './xlsx-reader.js';

/** Rows `discover` samples from the first sheet for field types. */
export const XLSX_DISCOVER_SAMPLE_ROWS = 100;

/** Warnings (duplicate headers, omitted error cells) logged one by one per file; the rest are only counted. */
const LOGGED_WARNINGS = 10;

/** Rows of one XLSX file through `readXlsx`, warnings logged (the first few) and counted in `xlsx_warnings`. */
export async function* readXlsxRows(input: RowReaderInput<XlsxStreamConfig>): AsyncGenerator<FileRow> {
  const { config, display, ctx } = input;
  if (input.size === 0) {
    yield { kind: 'error', line: 0, reason: `${display}: empty file (0 bytes), not an XLSX workbook; file skipped`, raw: '' };
    return;
  }
  let warnings = 0;
  const onWarning = (message: string) => {
    ctx.metrics.count('xlsx_warnings', 1);
    if (++warnings <= LOGGED_WARNINGS) ctx.logger.warn(message);
  };
  yield* readXlsx({ handle: input.handle, size: input.size }, {
    display,
    sheet: config.sheet,
    headerRow: config.headerRow,
    mergedHeader: config.mergedHeader,
    cellErrors: config.cellErrors,
    onWarning,
  });
  if (warnings > LOGGED_WARNINGS) ctx.logger.warn(`${display}: ${warnings - LOGGED_WARNINGS} more warnings (${warnings} in all)`);
}

function typeOf(v: unknown): FieldSchema['type'][number] {
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'boolean') return 'boolean';
  return 'string';
}

/** Columns of the first sheet with the types seen in its first rows (integer widened to number when mixed). */
async function xlsxFields(handle: FileHandle, size: number, config: XlsxStreamConfig | undefined, display: string): Promise<Record<string, FieldSchema>> {
  if (size === 0) return {};
  const types = new Map<string, Set<FieldSchema['type'][number]>>();
  let seen = 0;
  for await (const row of readXlsx({ handle, size }, { display, sheet: config?.sheet, headerRow: config?.headerRow, mergedHeader: config?.mergedHeader, cellErrors: 'omit' })) {
    if (row.kind !== 'row') continue;
    for (const [k, v] of Object.entries(row.data)) {
      const set = types.get(k) ?? new Set();
      set.add(typeOf(v));
      types.set(k, set);
    }
    if (++seen >= XLSX_DISCOVER_SAMPLE_ROWS) break;
  }
  return Object.fromEntries(
    [...types].map(([k, set]) => {
      if (set.has('number')) set.delete('integer');
      return [k, { type: [...set].sort(), sourceType: 'xlsx' } satisfies FieldSchema];
    }),
  );
}

/**
 * Source `xlsx`: reads one sheet of Excel workbooks (a path or a glob per
 * stream) with a streaming reader, incrementally by file and optionally by
 * cursor column, sharing the csv/jsonl file state and resume. See README.md.
 */
export const xlsxSource: SourceConnector<FileSourceConfig, XlsxStreamConfig> = {
  id: 'xlsx',
  kind: 'source',
  incrementalWithoutCursor: true,
  spec: { config: fileSourceConfigSchema, stream: xlsxStreamSchema },
  async check(ctx, streams) {
    const root = ctx.baseDir ?? process.cwd();
    const base = await checkConnectorPath(ctx.config.path, root);
    if (!base.ok || !streams?.length) return base;
    return checkStreamPaths(ctx.config.path, streams.map((s) => ({ name: s.name, path: xlsxStreamSchema.parse(s.config).path })), root);
  },
  async discover(ctx, streams) {
    const configs = streams?.map((s) => xlsxStreamSchema.parse(s.config));
    let i = 0;
    return describeFiles(ctx.config.path, ['.xlsx', '.xlsm'], async (handle, size) => {
      // describeFiles calls back once per stream, in the order given.
      const fields = await xlsxFields(handle, size, configs?.[i++], 'workbook');
      const names = Object.keys(fields);
      return { fields, primaryKey: guessPrimaryKey(names), cursorCandidates: guessCursorFields(names) };
    }, streams?.map((s, j) => ({ name: s.name, path: configs![j].path })), ctx.baseDir);
  },
  async *read(ctx, streams, state) {
    const parsed = streams.map((s) => ({ ...s, config: parseStreamConfig(xlsxStreamSchema, 'xlsx', ctx.name, s.name, s.config) }));
    yield* readFileStreams(ctx, parsed, state, readXlsxRows);
  },
};
