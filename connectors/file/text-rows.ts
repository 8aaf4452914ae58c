import type { Logger } from '../../core/plugin/types.js';
import { csvUnitBatches } from './csv-tokenizer.js';
import type { FileRow } from './read-files.js';
import { lineBatches } from './text-input.js';

/**
 * CSV and JSON Lines rows from decoded text chunks: one set of rules for every
 * source that reads such files, a local handle (csv, jsonl) or a socket (sftp).
 */
export interface TextRowsOptions {
  delimiter: string;
  quote: string;
  maxRecordSize: number;
  /** Column names given in the config, or true/undefined to read them from the first row. */
  header?: boolean | string[];
  skipEmptyLines: boolean;
  relaxColumnCount?: boolean;
  /** Columns already known (a resumed file starts after its header). */
  columns?: string[];
  /** Called once when a header row is read. */
  onColumns?(columns: string[]): void;
  logger: Logger;
  /** The file as origins and warnings name it. */
  display: string;
}

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

/** The header (or the configured columns), then one object of strings per record. */
export async function* csvTextRows(chunks: AsyncIterable<string>, o: TextRowsOptions): AsyncGenerator<FileRow> {
  for await (const batch of csvRowBatches(chunks, o)) for (const r of batch) yield r;
}

/**
 * One row object: own data properties in column order, as `Object.fromEntries`
 * made them (a later repeat of a configured name overwrites the value in the
 * first one's place). A plain assignment would be cheaper for every name but
 * `__proto__`, which would set the prototype instead of holding a value.
 */
function rowObject(cols: string[], fields: string[], n: number): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const c = cols[i];
    if (c === '__proto__') Object.defineProperty(data, c, { value: fields[i], writable: true, enumerable: true, configurable: true });
    else data[c] = fields[i];
  }
  return data;
}

/** The rows of `csvTextRows`, one array per batch of `csvUnitBatches` (see there why). */
export async function* csvRowBatches(chunks: AsyncIterable<string>, o: TextRowsOptions): AsyncGenerator<FileRow[]> {
  let columns = o.columns ?? (Array.isArray(o.header) ? o.header : undefined);
  for await (const units of csvUnitBatches(chunks, { delimiter: o.delimiter, quote: o.quote, maxRecordSize: o.maxRecordSize })) {
    const out: FileRow[] = [];
    for (const u of units) {
      if (u.kind === 'error') {
        if (!columns) {
          // Without a header no row can be named; the file is reported once and left until it changes.
          out.push({ kind: 'error', line: u.line, reason: `header row is malformed (${u.reason}); file skipped`, raw: u.raw });
          yield out;
          return;
        }
        out.push({ kind: 'error', line: u.line, reason: u.reason, raw: u.raw });
        continue;
      }
      if (u.blank && o.skipEmptyLines) continue;
      if (!columns) {
        columns = headerNames(u.fields, o.logger, o.display);
        o.onColumns?.(columns);
        continue;
      }
      if (u.fields.length !== columns.length && !o.relaxColumnCount) {
        out.push({ kind: 'error', line: u.line, reason: `expected ${columns.length} columns, got ${u.fields.length}`, raw: u.raw });
        continue;
      }
      out.push({ kind: 'row', line: u.line, data: rowObject(columns, u.fields, Math.min(columns.length, u.fields.length)) });
    }
    if (out.length) yield out;
  }
}

function kindOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Every non-blank line one JSON object; a blank line is an error unless `skipEmptyLines`. */
export async function* jsonlTextRows(chunks: AsyncIterable<string>, o: Pick<TextRowsOptions, 'maxRecordSize' | 'skipEmptyLines'>): AsyncGenerator<FileRow> {
  for await (const batch of jsonlRowBatches(chunks, o)) for (const r of batch) yield r;
}

/** The rows of `jsonlTextRows`, one array per decoded chunk (see `csvUnitBatches` why). */
export async function* jsonlRowBatches(chunks: AsyncIterable<string>, o: Pick<TextRowsOptions, 'maxRecordSize' | 'skipEmptyLines'>): AsyncGenerator<FileRow[]> {
  for await (const lines of lineBatches(chunks, o.maxRecordSize)) {
    const out: FileRow[] = [];
    for (const l of lines) {
      if ('tooLong' in l) {
        out.push({ kind: 'error', line: l.line, reason: `line longer than ${o.maxRecordSize} characters`, raw: l.head });
        continue;
      }
      if (l.text.trim() === '') {
        if (!o.skipEmptyLines) out.push({ kind: 'error', line: l.line, reason: 'empty line', raw: l.text });
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(l.text);
      } catch (err) {
        out.push({ kind: 'error', line: l.line, reason: `invalid JSON: ${(err as Error).message}`, raw: l.text });
        continue;
      }
      if (kindOf(value) !== 'object') {
        out.push({ kind: 'error', line: l.line, reason: `expected a JSON object, got ${kindOf(value)}`, raw: l.text });
        continue;
      }
      out.push({ kind: 'row', line: l.line, data: value as Record<string, unknown> });
    }
    if (out.length) yield out;
  }
}
