import { headerNames } from '../file/csv-source.js';
import { csvUnits } from '../file/csv-tokenizer.js';
import type { FileRow } from '../file/read-files.js';
import { splitLines } from '../file/text-input.js';
import type { Logger } from '../../core/plugin/types.js';
import type { RemoteStreamConfig } from './config.js';

export interface RowsInput {
  chunks: AsyncIterable<string>;
  config: RemoteStreamConfig;
  /** CSV columns already known (a resumed file starts after its header). */
  columns?: string[];
  /** Called once when a CSV header row is read. */
  onColumns?(columns: string[]): void;
  display: string;
  logger: Logger;
}

/**
 * Rows of a CSV text, the same rules as the `csv` source (connectors/file
 * readCsvRows), but from text chunks instead of a local file handle.
 */
export async function* csvRows(input: RowsInput): AsyncGenerator<FileRow> {
  const { config } = input;
  let columns = input.columns ?? (Array.isArray(config.header) ? config.header : undefined);
  for await (const u of csvUnits(input.chunks, { delimiter: config.delimiter, quote: config.quote, maxRecordSize: config.maxRecordSize })) {
    if (u.kind === 'error') {
      if (!columns) {
        yield { kind: 'error', line: u.line, reason: `header row is malformed (${u.reason}); file skipped`, raw: u.raw };
        return;
      }
      yield { kind: 'error', line: u.line, reason: u.reason, raw: u.raw };
      continue;
    }
    if (u.blank && config.skipEmptyLines) continue;
    if (!columns) {
      columns = headerNames(u.fields, input.logger, input.display);
      input.onColumns?.(columns);
      continue;
    }
    if (u.fields.length !== columns.length && !config.relaxColumnCount) {
      yield { kind: 'error', line: u.line, reason: `expected ${columns.length} columns, got ${u.fields.length}`, raw: u.raw };
      continue;
    }
    const cols = columns;
    const n = Math.min(cols.length, u.fields.length);
    yield { kind: 'row', line: u.line, data: Object.fromEntries(u.fields.slice(0, n).map((v, i) => [cols[i], v])) };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Rows of a JSON Lines text: every non-blank line one JSON object. */
export async function* jsonlRows(input: RowsInput): AsyncGenerator<FileRow> {
  const { config } = input;
  for await (const l of splitLines(input.chunks, config.maxRecordSize)) {
    if ('tooLong' in l) {
      yield { kind: 'error', line: l.line, reason: `line longer than ${config.maxRecordSize} characters`, raw: l.head };
      continue;
    }
    if (l.text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(l.text);
    } catch (err) {
      yield { kind: 'error', line: l.line, reason: `invalid JSON: ${(err as Error).message}`, raw: l.text.slice(0, 64 * 1024) };
      continue;
    }
    if (!isObject(value)) {
      yield { kind: 'error', line: l.line, reason: `expected a JSON object, got ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}`, raw: l.text.slice(0, 64 * 1024) };
      continue;
    }
    yield { kind: 'row', line: l.line, data: value };
  }
}
