import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { FileRow } from '../file/read-files.js';
import { readXlsx } from '../file/xlsx-reader.js';
import type { Logger } from '../../core/plugin/types.js';
import type { RemoteStreamConfig } from './config.js';
import { LineChunks } from './line-chunks.js';
import { csvRows, jsonlRows } from './rows.js';
import type { RemoteFileEntry } from './state.js';

export type RemoteFormat = 'csv' | 'jsonl' | 'xlsx';

/**
 * One try at reading a file from where its entry says to resume. For each of
 * `rows`, `accept` says the row's line in the whole file, or undefined for a
 * row the entry marks as consumed already, and moves the entry past it (a
 * method, not one more generator around the parser: a generator hop per row
 * is measurable at a million rows). `finish` marks the file read to its end.
 */
export interface FileAttempt {
  rows: AsyncIterable<FileRow>;
  accept(row: FileRow): number | undefined;
  finish(size: number): void;
}

export interface AttemptInput {
  /** The bytes from `entry.offset` (text) or from 0 (xlsx) to the listed size. */
  bytes: Readable;
  /** With `spool: true`, the downloaded copy `bytes` reads: an XLSX is opened from it rather than copied again. */
  spooledPath?: string;
  entry: RemoteFileEntry;
  config: RemoteStreamConfig;
  display: string;
  logger: Logger;
  /** Counted, and logged for the first few: duplicate XLSX headers, omitted error cells. */
  onWarning(message: string): void;
}

/**
 * CSV / JSONL: the checkpoint names a byte offset (the start of the line of the
 * last row read, that row consumed), so a resumed read starts there. Row lines
 * are physical lines of the whole file.
 */
export function textAttempt(input: AttemptInput, format: 'csv' | 'jsonl'): FileAttempt {
  const { entry, config } = input;
  const from = { offset: entry.offset, line: Math.max(1, entry.line), skip: entry.skip };
  const lines = new LineChunks(from.line, from.offset);
  const rowsInput = {
    chunks: lines.text(input.bytes, config.encoding),
    config,
    columns: entry.columns,
    onColumns: (c: string[]) => (entry.columns = c),
    display: input.display,
    logger: input.logger,
  };
  const rows: AsyncIterable<FileRow> = format === 'jsonl' ? jsonlRows(rowsInput) : csvRows(rowsInput);
  let first = true;
  return {
    rows,
    accept(row) {
      const line = from.line + row.line - 1;
      if (first) {
        first = false;
        if (from.skip > 0 && line === from.line) return undefined;
      }
      entry.rows++;
      entry.line = line;
      entry.offset = lines.startOf(line) ?? entry.offset;
      entry.skip = 1;
      lines.forget(line);
      return line;
    },
    finish(size) {
      entry.done = true;
      entry.offset = size;
      entry.line = lines.lastLine;
      entry.skip = 0;
    },
  };
}

/** A stream failure (dropped link, vanished file) seen while the XLSX reader turned it into a file error row. */
export class XlsxStreamFailure extends Error {
  constructor(readonly failure: unknown) {
    super((failure as Error)?.message ?? String(failure));
  }
}

/**
 * XLSX: a ZIP has no line to resume at, so the whole workbook is read again
 * and the rows the entry counts as consumed are skipped (the reader is
 * deterministic, as resuming "after N rows" needs). Row lines are sheet row
 * numbers. The same streaming reader and options as the local `xlsx` source.
 */
export function xlsxAttempt(input: AttemptInput, size: number): FileAttempt {
  const { entry, config, display } = input;
  const consumed = entry.rows;
  let failure: unknown;
  // A dropped link while the workbook is copied to its temporary file is kept here: the reader reports it as an
  // unreadable file, and `accept` turns that into the failure the caller retries.
  input.bytes.on('error', (err) => (failure ??= err));
  async function* rows(): AsyncGenerator<FileRow> {
    if (size === 0) {
      yield { kind: 'error', line: 0, reason: `${display}: empty file (0 bytes), not an XLSX workbook; file skipped`, raw: '' };
      return;
    }
    const options = { display, sheet: config.sheet, headerRow: config.headerRow, mergedHeader: config.mergedHeader, cellErrors: config.cellErrors, onWarning: input.onWarning };
    if (input.spooledPath === undefined) {
      yield* readXlsx({ stream: input.bytes }, options);
    } else {
      input.bytes.destroy();
      const handle = await open(input.spooledPath, 'r');
      try {
        yield* readXlsx({ handle, size: (await handle.stat()).size }, options);
      } finally {
        await handle.close();
      }
    }
    if (failure !== undefined) throw new XlsxStreamFailure(failure);
  }
  let n = 0;
  return {
    rows: rows(),
    accept(row) {
      // The reader reports a broken stream as an unreadable file; a dropped link is the caller's to retry.
      if (row.kind === 'error' && row.line === 0 && failure !== undefined) throw new XlsxStreamFailure(failure);
      if (++n <= consumed) return undefined;
      entry.rows++;
      entry.line = row.line;
      entry.offset = 0;
      entry.skip = 0;
      return row.line;
    },
    finish(fileSize) {
      entry.done = true;
      entry.offset = fileSize;
      entry.skip = 0;
    },
  };
}

export function formatOf(config: RemoteStreamConfig, name: string): RemoteFormat {
  if (config.format) return config.format;
  if (/\.(xlsx|xlsm)$/i.test(name)) return 'xlsx';
  return /\.(jsonl|ndjson)$/i.test(name) ? 'jsonl' : 'csv';
}
