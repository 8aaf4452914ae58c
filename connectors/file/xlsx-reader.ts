import type { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { FileRow } from './read-files.js';

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

type Cell = { value: unknown; numFmt?: string; col: number };

/** A cell value turned into JSON, or the reason it cannot be. */
type Converted = { ok: true; value: string | number | boolean | undefined } | { ok: false; reason: string };

/** Number formats that show a date or time (quoted literals and [colour]/[h] brackets removed first). */
function isDateFormat(fmt: string | undefined): boolean {
  if (!fmt) return false;
  const bare = fmt.replace(/"[^"]*"/g, '').replace(/\[[^\]]*\]/g, '').replace(/\\./g, '');
  return /[ymdhs]/i.test(bare);
}

/** Excel serial day (1900 system; 1904 when the workbook says so) to a UTC instant. */
function serialToIso(serial: number, date1904: boolean): string {
  const epoch = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 30);
  return new Date(epoch + Math.round(serial * 86_400_000)).toISOString();
}

function convert(cell: Cell, date1904: boolean): Converted {
  const v = cell.value;
  if (v === null || v === undefined || v === '') return { ok: true, value: undefined };
  if (typeof v === 'string' || typeof v === 'boolean') return { ok: true, value: v };
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return { ok: false, reason: 'is not a finite number' };
    return { ok: true, value: v };
  }
  if (v instanceof Date) {
    return Number.isNaN(v.getTime()) ? { ok: false, reason: 'is an invalid date' } : { ok: true, value: v.toISOString() };
  }
  if (typeof v !== 'object') return { ok: false, reason: `has an unsupported value type ${typeof v}` };
  const o = v as Record<string, unknown>;
  if (typeof o.error === 'string') return { ok: false, reason: `holds the error ${o.error}` };
  if (Array.isArray(o.richText)) {
    return { ok: true, value: o.richText.map((r) => (r && typeof (r as { text?: unknown }).text === 'string' ? (r as { text: string }).text : '')).join('') };
  }
  // A shared string the reader could not resolve (exceljs #1565); with sharedStrings 'cache' it should not happen.
  if (typeof o.sharedString === 'number') return { ok: false, reason: `refers to shared string ${o.sharedString}, which the workbook does not define` };
  if ('formula' in o || 'sharedFormula' in o) {
    const r = o.result;
    if (r === undefined || r === null) return { ok: false, reason: 'is a formula without a cached result (save the workbook in a spreadsheet program to compute it)' };
    // The stream reader parses a non-string cached result as a number: an error result (#REF!) becomes NaN.
    if (typeof r === 'number' && Number.isNaN(r)) return { ok: false, reason: 'is a formula whose cached result is an error' };
    if (typeof r === 'number' && isDateFormat(cell.numFmt)) return { ok: true, value: serialToIso(r, date1904) };
    return convert({ ...cell, value: r }, date1904);
  }
  if (typeof o.text === 'string') return { ok: true, value: o.text }; // hyperlink: its text
  return { ok: false, reason: 'has a value this reader does not understand' };
}

/** Column letters of a 1-based column number (1 → A, 28 → AB). */
export function columnLetters(col: number): string {
  let s = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

function headerFrom(cells: Cell[], mode: 'fill' | 'blank', date1904: boolean, warn: (m: string) => void, where: string): Map<number, string> {
  const names = new Map<number, string>();
  const seen = new Set<string>();
  let left: string | undefined;
  for (const c of cells) {
    const conv = convert(c, date1904);
    let raw = conv.ok && conv.value !== undefined ? String(conv.value).trim() : '';
    if (raw === '') raw = mode === 'fill' && left !== undefined ? left : `column_${c.col}`;
    else left = raw;
    let name = raw;
    if (seen.has(name)) {
      let n = 2;
      while (seen.has(`${raw}_${n}`)) n++;
      name = `${raw}_${n}`;
      if (c.value !== null && c.value !== undefined && c.value !== '') warn(`${where}: column "${raw}" appears twice in the header, the later one is read as "${name}"`);
    }
    seen.add(name);
    names.set(c.col, name);
  }
  return names;
}

function cellsOf(row: ExcelJS.Row): Cell[] {
  const out: Cell[] = [];
  row.eachCell({ includeEmpty: true }, (cell, col) => {
    out.push({ value: cell.value, numFmt: cell.numFmt, col });
  });
  return out;
}

const isBlank = (cells: Cell[]) => cells.every((c) => c.value === null || c.value === undefined || (typeof c.value === 'string' && c.value.trim() === ''));

interface ReaderInternals {
  model?: { sheets?: Array<{ name?: string; id?: number }> };
  properties?: { model?: { date1904?: boolean } };
}

/** 1-based tab position of a sheet, from the workbook part (zip order when the workbook part is missing). */
function tabPosition(wb: ReaderInternals, ws: { name?: string }, zipOrder: number): number {
  const i = wb.model?.sheets?.findIndex((s) => s.name === ws.name) ?? -1;
  return i >= 0 ? i + 1 : zipOrder;
}

const fileError = (reason: string): FileRow => ({ kind: 'error', line: 0, reason, raw: '' });

/**
 * Rows of one sheet of an XLSX workbook read from `stream`, in sheet order: a
 * `row` per non-blank row under the header (its `line` is the sheet row number),
 * an `error` row for a row with an error cell, and an `error` with line 0 for a
 * file that cannot be read (not a ZIP, a ZIP of something else, a missing
 * sheet): never a throw. Memory is bounded by one row plus the workbook's
 * shared strings; a sheet stored before its shared strings is spooled to a
 * temporary file by exceljs. The caller owns `stream`; it is destroyed when
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
    hyperlinks: 'ignore', // a hyperlink cell then reads as its text
    entries: 'ignore',
  });
  const internals = wb as unknown as ReaderInternals;
  const seenSheets: string[] = [];
  let where = display;
  let found = false;
  let zipOrder = 0;
  try {
    for await (const ws of wb) {
      const sheet = ws as unknown as { name?: string } & AsyncIterable<ExcelJS.Row>;
      zipOrder++;
      const name = sheet.name ?? `Sheet${zipOrder}`;
      seenSheets.push(name);
      const match = typeof wanted === 'number' ? tabPosition(internals, sheet, zipOrder) === wanted : name === wanted;
      if (!match) continue;
      found = true;
      where = `${display}!${name}`;
      const date1904 = internals.properties?.model?.date1904 === true;
      let columns: Map<number, string> | undefined;
      for await (const row of sheet) {
        if (row.number < headerRow) continue;
        const cells = cellsOf(row);
        if (!columns) {
          if (row.number === headerRow && !isBlank(cells)) {
            columns = headerFrom(cells, options.mergedHeader ?? 'fill', date1904, warn, where);
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
          const conv = convert(c, date1904);
          const ref = `${where}!${columnLetters(c.col)}${row.number}`;
          if (!conv.ok) {
            if ((options.cellErrors ?? 'dead-letter') === 'dead-letter') errors.push(`${ref} ${conv.reason}`);
            else warn(`${ref} ${conv.reason}; the field is left out`);
            continue;
          }
          if (conv.value === undefined) continue;
          let key = columns.get(c.col);
          if (key === undefined) {
            key = `column_${c.col}`;
            columns.set(c.col, key);
            warn(`${where}: column ${columnLetters(c.col)} has no header cell, it is read as "${key}"`);
          }
          // defineProperty semantics: a column named __proto__ is just a column.
          Object.defineProperty(data, key, { value: conv.value, enumerable: true, writable: true, configurable: true });
        }
        if (errors.length) {
          yield { kind: 'error', line: row.number, reason: errors.join('; '), raw: JSON.stringify(data) };
          continue;
        }
        yield { kind: 'row', line: row.number, data };
      }
      break; // the sheets after the chosen one are not read at all
    }
  } catch (err) {
    const cause = streamError ?? (err as Error);
    yield fileError(`${where}: ${describeFailure(cause)}; file skipped`);
    return;
  } finally {
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
