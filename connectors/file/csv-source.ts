import type { FileHandle } from 'node:fs/promises';
import type { FieldSchema, Logger, SourceConnector, StreamDescriptor } from '../../core/plugin/types.js';
import { csvStreamSchema, DEFAULT_MAX_RECORD_SIZE, fileSourceConfigSchema, type CsvStreamConfig, type FileSourceConfig } from './config.js';
import { csvUnits } from './csv-tokenizer.js';
import { describeFiles, guessCursorFields, guessPrimaryKey } from './describe.js';
import { checkConnectorPath, checkStreamPaths } from './file-set.js';
import { parseStreamConfig, readFileStreams, type FileRow, type RowReaderInput } from './read-files.js';
import { decodedChunks, headText } from './text-input.js';

/** Column names from a header row: blanks become `column_N`, repeats get `_2`, `_3` (with a warning). */
export function headerNames(fields: string[], logger: Logger, where: string): string[] {
  const seen = new Set<string>();
  return fields.map((raw, i) => {
    let name = raw === '' ? `column_${i + 1}` : raw;
    if (seen.has(name)) {
      let n = 2;
      while (seen.has(`${name}_${n}`)) n++;
      logger.warn(`${where}: column "${name}" appears twice in the header, the later one is read as "${name}_${n}"`);
      name = `${name}_${n}`;
    }
    seen.add(name);
    return name;
  });
}

/** Rows of one CSV file: the header (or the configured columns), then one object of strings per record. */
export async function* readCsvRows(input: RowReaderInput<CsvStreamConfig>): AsyncGenerator<FileRow> {
  const { config, display, ctx } = input;
  let columns = Array.isArray(config.header) ? config.header : undefined;
  const chunks = decodedChunks(input.handle, input.size, config.encoding);
  for await (const u of csvUnits(chunks, config)) {
    if (u.kind === 'error') {
      if (!columns) {
        // Without a header no row can be named; the file is reported once and left until it changes.
        yield { kind: 'error', line: u.line, reason: `header row is malformed (${u.reason}); file skipped`, raw: u.raw };
        return;
      }
      yield { kind: 'error', line: u.line, reason: u.reason, raw: u.raw };
      continue;
    }
    if (u.blank && config.skipEmptyLines) continue;
    if (!columns) {
      columns = headerNames(u.fields, ctx.logger, display);
      continue;
    }
    if (u.fields.length !== columns.length && !config.relaxColumnCount) {
      yield { kind: 'error', line: u.line, reason: `expected ${columns.length} columns, got ${u.fields.length}`, raw: u.raw };
      continue;
    }
    const cols = columns;
    const n = Math.min(cols.length, u.fields.length);
    // fromEntries defines own properties, so a column named __proto__ is just a column.
    yield { kind: 'row', line: u.line, data: Object.fromEntries(u.fields.slice(0, n).map((v, i) => [cols[i], v])) };
  }
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
