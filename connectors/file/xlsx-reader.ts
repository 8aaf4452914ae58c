import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { FileRow } from './read-files.js';
import { iterable, parseSharedStrings, sheetRows, type SheetCell } from './sheet-xml.js';

/** Options of `readXlsx`: which sheet, where its header is, how to treat gaps and error cells. */
export interface XlsxReadOptions {
  /** The file as messages name it (`people.xlsx`). */
  display: string;
  /** Sheet name, or 1-based position among the workbook's tabs. Default: the first tab. */
  sheet?: string | number;
  /** 1-based row holding the column names; rows above it are ignored. Default 1. */
  headerRow?: number;
  /**
   * `fill`: an empty header cell right of a named one takes that name with a
   * suffix (`Address`, `Address_2`): this is how a merged header reads, because
   * a sheet stores a merged value in its first cell only and lists the merges
   * after the rows, where a streaming reader cannot see them in time.
   * `blank`: empty header cells are named `column_N`. Default `fill`.
   */
  mergedHeader?: 'fill' | 'blank';
  /** `dead-letter`: a row with an error cell (`#DIV/0!`) is an error row. `omit`: the field is left out and `onWarning` told. */
  cellErrors?: 'dead-letter' | 'omit';
  /** Told about duplicate header names and omitted error cells. */
  onWarning?: (message: string) => void;
}

/** Column letters of a 1-based column number (1 → A, 28 → AB). */
export function columnLetters(col: number): string {
  let s = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

function headerFrom(cells: SheetCell[], mode: 'fill' | 'blank', warn: (m: string) => void, where: string): Map<number, string> {
  const names = new Map<number, string>();
  const seen = new Set<string>();
  let left: string | undefined;
  for (const c of cells) {
    const given = c.result.ok && c.result.value !== undefined ? String(c.result.value).trim() : '';
    let raw = given;
    if (raw === '') raw = mode === 'fill' && left !== undefined ? left : `column_${c.col}`;
    else left = raw;
    let name = raw;
    if (seen.has(name)) {
      let n = 2;
      while (seen.has(`${raw}_${n}`)) n++;
      name = `${raw}_${n}`;
      if (given !== '') warn(`${where}: column "${raw}" appears twice in the header, the later one is read as "${name}"`);
    }
    seen.add(name);
    names.set(c.col, name);
  }
  return names;
}

const isBlank = (cells: SheetCell[]) => cells.every((c) => c.result.ok && (c.result.value === undefined || (typeof c.result.value === 'string' && c.result.value.trim() === '')));

/** The parts of exceljs's WorkbookReader this reader relies on (exceljs 4.4.0, pinned). */
interface ReaderInternals {
  model?: { sheets?: Array<{ name?: string }> };
  properties?: { model?: { date1904?: boolean } };
  styles: { getStyleModel(id: number): { numFmt?: string } | null | undefined };
  sharedStrings?: unknown[];
  _parseSharedStrings(entry: Readable): AsyncGenerator<unknown>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
}

/** The number format of a style index; none when the workbook has no styles part (exceljs's default manager then has no index). */
function numFmtOf(wb: ReaderInternals, style: number): string | undefined {
  try {
    return wb.styles.getStyleModel(style)?.numFmt ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * A sheet not read. A spooled one is a file stream that exceljs deletes right
 * after handing it over, so its late open fails: that error is expected and
 * must not become an unhandled 'error' event. A sheet read in place is drained
 * by exceljs itself.
 */
function discard(iterator: unknown): void {
  const s = iterator as { on?: unknown; destroy?: unknown };
  if (typeof s.on === 'function' && typeof s.destroy === 'function') {
    (iterator as Readable).on('error', () => undefined);
    (iterator as Readable).destroy();
  }
}

/**
 * Reading stopped early (an error row ended the sheet, or the caller stopped).
 * When the current sheet was spooled, the ZIP is read already and the rest of
 * exceljs's loop only opens and deletes temporary files: run it to the end so
 * none is left behind. A sheet read in place means the ZIP is not finished;
 * reading on could cost the rest of the file, so the loop is closed, and a sheet
 * spooled before it (parts out of order) stays in the temp folder until exit.
 */
async function abandon(sheets: AsyncIterator<unknown>, current: unknown): Promise<void> {
  const spooled = typeof (current as { path?: unknown } | undefined)?.path === 'string';
  try {
    if (!spooled) {
      await sheets.return?.(undefined);
      return;
    }
    for (;;) {
      const next = await sheets.next();
      if (next.done) return;
      discard((next.value as { iterator: unknown }).iterator);
    }
  } catch {
    // Cleanup only: the reason reading stopped is already reported.
  }
}

/** 1-based tab position of a sheet, from the workbook part (zip order when the workbook part is missing). */
function tabPosition(wb: ReaderInternals, name: string | undefined, zipOrder: number): number {
  const i = wb.model?.sheets?.findIndex((s) => s.name === name) ?? -1;
  return i >= 0 ? i + 1 : zipOrder;
}

/**
 * Shared strings go to our own parser. exceljs parses a sheet on the spot once
 * `sharedStrings` and the relationships are known, and spools it to a temporary
 * file otherwise; `sharedStrings` is only set once the styles and workbook parts
 * are read as well, so no sheet is parsed before the number formats (dates) and
 * the 1904 flag are known, whatever the order of the parts in the ZIP.
 */
function takeOverParts(wb: ReaderInternals): { strings(): readonly string[] } {
  let strings: string[] | undefined;
  let styles = false;
  let workbook = false;
  const release = () => {
    if (strings && styles && workbook) wb.sharedStrings = strings;
  };
  const parseStyles = wb._parseStyles.bind(wb);
  const parseWorkbook = wb._parseWorkbook.bind(wb);
  wb._parseSharedStrings = async function* (entry: Readable) {
    strings = await parseSharedStrings(iterable(entry));
    release();
  };
  wb._parseStyles = async (entry: Readable) => {
    await parseStyles(entry);
    styles = true;
    release();
  };
  wb._parseWorkbook = async (entry: Readable) => {
    await parseWorkbook(entry);
    workbook = true;
    release();
  };
  return { strings: () => strings ?? [] };
}

const fileError = (reason: string): FileRow => ({ kind: 'error', line: 0, reason, raw: '' });

/**
 * Rows of one sheet of an XLSX workbook read from `stream`, in sheet order: a
 * `row` per non-blank row under the header (its `line` is the sheet row number),
 * an `error` row for a row with an error cell, and an `error` with line 0 for a
 * file that cannot be read (not a ZIP, a ZIP of something else, a missing
 * sheet): never a throw. Memory is bounded by one row plus the workbook's
 * shared strings; a sheet stored before the shared strings, styles or workbook
 * parts is spooled to a temporary file by exceljs and read after them. The caller owns `stream`; it is destroyed when
 * reading ends or is abandoned.
 */
export async function* readXlsx(stream: Readable, options: XlsxReadOptions): AsyncGenerator<FileRow> {
  const { display } = options;
  const headerRow = options.headerRow ?? 1;
  const warn = options.onWarning ?? (() => undefined);
  const wanted = options.sheet ?? 1;
  let streamError: Error | undefined;
  stream.on('error', (err) => (streamError ??= err));
  const wb = new ExcelJS.stream.xlsx.WorkbookReader(stream, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache', // number formats tell dates from numbers
    hyperlinks: 'ignore', // a hyperlink cell is read as its text
    entries: 'ignore',
  });
  const internals = wb as unknown as ReaderInternals;
  const parts = takeOverParts(internals);
  const seenSheets: string[] = [];
  let where = display;
  let found = false;
  let zipOrder = 0;
  // Iterated by hand, not with for-await: leaving a for-await closes exceljs's generator, which then never deletes its spooled files.
  const sheets = (wb as unknown as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let finished = false;
  let current: unknown;
  try {
    for (;;) {
      const next = await sheets.next();
      if (next.done) {
        finished = true;
        break;
      }
      const sheet = next.value as { name?: string; iterator: AsyncIterable<Buffer> };
      current = sheet.iterator;
      zipOrder++;
      const name = sheet.name ?? `Sheet${zipOrder}`;
      seenSheets.push(name);
      const match = typeof wanted === 'number' ? tabPosition(internals, sheet.name, zipOrder) === wanted : name === wanted;
      if (found || !match) {
        discard(sheet.iterator);
        continue;
      }
      found = true;
      where = `${display}!${name}`;
      const ctx = {
        sharedStrings: parts.strings(),
        numFmt: (s: number) => numFmtOf(internals, s),
        date1904: internals.properties?.model?.date1904 === true,
      };
      let columns: Map<number, string> | undefined;
      for await (const row of sheetRows(sheet.iterator, ctx)) {
        if (row.number < headerRow) continue;
        const { cells } = row;
        if (!columns) {
          if (row.number === headerRow && !isBlank(cells)) {
            columns = headerFrom(cells, options.mergedHeader ?? 'fill', warn, where);
            continue;
          }
          if (isBlank(cells)) continue;
          yield fileError(`${where}: header row ${headerRow} is empty but row ${row.number} holds data; set headerRow; sheet skipped`);
          return;
        }
        if (isBlank(cells)) continue; // blank rows, trailing formatted ones included, are not records
        const data: Record<string, unknown> = {};
        const errors: string[] = [];
        for (const c of cells) {
          const ref = `${where}!${columnLetters(c.col)}${row.number}`;
          if (!c.result.ok) {
            if ((options.cellErrors ?? 'dead-letter') === 'dead-letter') errors.push(`${ref} ${c.result.reason}`);
            else warn(`${ref} ${c.result.reason}; the field is left out`);
            continue;
          }
          if (c.result.value === undefined) continue;
          let key = columns.get(c.col);
          if (key === undefined) {
            key = `column_${c.col}`;
            columns.set(c.col, key);
            warn(`${where}: column ${columnLetters(c.col)} has no header cell, it is read as "${key}"`);
          }
          // defineProperty: a column named __proto__ is just a column.
          Object.defineProperty(data, key, { value: c.result.value, enumerable: true, writable: true, configurable: true });
        }
        if (errors.length) {
          yield { kind: 'error', line: row.number, reason: errors.join('; '), raw: JSON.stringify(data) };
          continue;
        }
        yield { kind: 'row', line: row.number, data };
      }
      // No break: exceljs deletes a spooled sheet's temporary file only when its loop moves on.
    }
  } catch (err) {
    const cause = streamError ?? (err as Error);
    yield fileError(`${where}: ${describeFailure(cause)}; file skipped`);
    return;
  } finally {
    if (!finished) await abandon(sheets, current);
    stream.destroy();
  }
  if (found) return;
  if (streamError) {
    yield fileError(`${display}: cannot be read (${streamError.message}); file skipped`);
  } else if (!internals.model) {
    yield fileError(`${display}: not an XLSX workbook (no xl/workbook.xml: a ZIP of something else, or not a ZIP); file skipped`);
  } else if (options.sheet !== undefined && seenSheets.length > 0) {
    const label = typeof wanted === 'number' ? `sheet ${wanted}` : `sheet "${wanted}"`;
    yield fileError(`${display}: ${label} not found (sheets: ${seenSheets.join(', ')}); file skipped`);
  } else if (options.sheet !== undefined) {
    yield fileError(`${display}: workbook has no sheets, so ${typeof wanted === 'number' ? `sheet ${wanted}` : `sheet "${wanted}"`} is not there; file skipped`);
  }
  // No sheet asked for and none in the workbook: an empty workbook, no records, no error.
}

function describeFailure(err: Error): string {
  const m = err.message || String(err);
  if (/signature|end of central directory|zip/i.test(m)) return `not a readable ZIP, so not an XLSX workbook (${m})`;
  return `unreadable sheet (${m})`;
}
