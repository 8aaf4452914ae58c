import type { FileHandle } from 'node:fs/promises';
import type { FieldSchema, Logger, SourceConnector, StreamDescriptor } from '../../../core/plugin/types.js';
import { csvStreamSchema, DEFAULT_MAX_RECORD_SIZE, fileSourceConfigSchema, type CsvStreamConfig, type FileSourceConfig } from '../config.js';
import { describeFiles, guessCursorFields, guessPrimaryKey } from '../describe.js';
import { checkConnectorPath, checkStreamPaths } from '../file-set.js';
import { parseStreamConfig, readFileStreams, type FileRow, type RowReaderInput } from './read-files.js';
import { decodedChunks, headText } from './text-input.js';
import { csvTextRows, headerNames } from './text-rows.js';
import { csvUnits } from './csv-tokenizer.js';

export { headerNames } from './text-rows.js';

/** Rows of one CSV file: the header (or the configured columns), then one object of strings per record. */
export function readCsvRows(input: RowReaderInput<CsvStreamConfig>): AsyncGenerator<FileRow> {
  const { config, display, ctx } = input;
  return csvTextRows(decodedChunks(input.handle, input.size, config.encoding), { ...config, logger: ctx.logger, display });
}

const SNIFF = [',', ';', '\t', '|'];

/** The likeliest delimiter of a header line (discover only: it has no stream config to ask). */
export function sniffDelimiter(line: string): string {
  let best = ',';
  let count = 0;
  for (const d of SNIFF) {
    const c = line.split(d).length - 1;
    if (c > count) [best, count] = [d, c];
  }
  return best;
}

async function csvFields(handle: FileHandle, size: number): Promise<Record<string, FieldSchema>> {
  const firstLine = (await headText(handle, size)).split('\n')[0];
  const dialect = { delimiter: sniffDelimiter(firstLine), quote: '"', maxRecordSize: DEFAULT_MAX_RECORD_SIZE };
  for await (const u of csvUnits(decodedChunks(handle, size, 'utf8'), dialect)) {
    if (u.kind === 'record' && u.blank) continue;
    if (u.kind === 'error') return {};
    const names = headerNames(u.fields, { debug() {}, info() {}, warn() {}, error() {} }, '');
    return Object.fromEntries(names.map((n) => [n, { type: ['string'], sourceType: 'csv' } satisfies FieldSchema]));
  }
  return {};
}

/**
 * Source `csv`: reads delimited text files (a path or a glob per stream),
 * incrementally by file and optionally by cursor column. See README.md.
 */
export const csvSource: SourceConnector<FileSourceConfig, CsvStreamConfig> = {
  id: 'csv',
  kind: 'source',
  incrementalWithoutCursor: true,
  spec: { config: fileSourceConfigSchema, stream: csvStreamSchema },
  async check(ctx, streams) {
    const root = ctx.baseDir ?? process.cwd();
    const base = await checkConnectorPath(ctx.config.path, root);
    if (!base.ok || !streams?.length) return base;
    return checkStreamPaths(ctx.config.path, streams.map((s) => ({ name: s.name, path: csvStreamSchema.parse(s.config).path })), root);
  },
  async discover(ctx, streams): Promise<StreamDescriptor[]> {
    return describeFiles(ctx.config.path, ['.csv', '.tsv', '.txt'], async (handle, size) => {
      const fields = await csvFields(handle, size);
      const names = Object.keys(fields);
      return { fields, primaryKey: guessPrimaryKey(names), cursorCandidates: guessCursorFields(names) };
    }, streams?.map((s) => ({ name: s.name, path: csvStreamSchema.parse(s.config).path })), ctx.baseDir);
  },
  async *read(ctx, streams, state) {
    // The engine validates stream config already; parsing again (idempotent) keeps direct callers honest too.
    const parsed = streams.map((s) => ({ ...s, config: parseStreamConfig(csvStreamSchema, 'csv', ctx.name, s.name, s.config) }));
    yield* readFileStreams(ctx, parsed, state, readCsvRows);
  },
};
