import type { FileRow } from './read-files.js';
import { iterable, parseSharedStrings, sheetRows, type SheetCell } from './sheet-xml.js';
import { parseStyles, parseWorkbook, parseWorkbookRels } from './workbook-parts.js';
import { openWorkbookZip, type WorkbookInput, type WorkbookZip } from './xlsx-zip.js';

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

const fileError = (reason: string): FileRow => ({ kind: 'error', line: 0, reason, raw: '' });

/**
 * Rows of one sheet of an XLSX workbook, in sheet order: a `row` per non-blank
 * row under the header (its `line` is the sheet row number), an `error` row for
 * a row with an error cell, and an `error` with line 0 for a file that cannot
 * be read (not a ZIP, a ZIP of something else, a missing sheet): never a throw.
 * The workbook, styles and shared strings parts are read first, whatever their
 * order in the ZIP, so dates and the 1904 flag are known before the first row;
 * memory is bounded by one row plus the shared strings. A stream input is copied
 * to a temporary file first (see xlsx-zip.ts) and destroyed when reading ends;
 * a file handle stays open for its owner.
 */
export async function* readXlsx(input: WorkbookInput, options: XlsxReadOptions): AsyncGenerator<FileRow> {
  const { display } = options;
  const headerRow = options.headerRow ?? 1;
  const warn = options.onWarning ?? (() => undefined);
  const wanted = options.sheet ?? 1;
  let streamError: Error | undefined;
  if ('stream' in input) input.stream.on('error', (err) => (streamError ??= err));
  let where = display;
  let zip: WorkbookZip | undefined;
  try {
    try {
      zip = await openWorkbookZip(input);
    } catch (err) {
      yield fileError(streamError ? `${display}: cannot be read (${streamError.message}); file skipped` : `${display}: ${describeFailure(err as Error)}; file skipped`);
      return;
    }
    const workbookPart = await zip.part('xl/workbook.xml');
    if (!workbookPart) {
      yield fileError(`${display}: not an XLSX workbook (no xl/workbook.xml: a ZIP of something else, or not a ZIP); file skipped`);
      return;
    }
    const relsPart = await zip.part('xl/_rels/workbook.xml.rels');
    const rels = relsPart ? await parseWorkbookRels(relsPart) : new Map();
    const model = await parseWorkbook(workbookPart, rels);
    const stylesPart = await zip.part(model.styles ?? 'xl/styles.xml');
    const numFmt = stylesPart ? await parseStyles(stylesPart) : () => undefined;
    const stringsPart = await zip.part(model.sharedStrings ?? 'xl/sharedStrings.xml');
    const sharedStrings = stringsPart ? await parseSharedStrings(iterable(stringsPart)) : [];

    const index = typeof wanted === 'number' ? wanted - 1 : model.sheets.findIndex((s) => s.name === wanted);
    const sheet = model.sheets[index];
    if (!sheet) {
      if (options.sheet === undefined) return; // no sheet asked for and none in the workbook: an empty workbook, no records, no error
      const label = typeof wanted === 'number' ? `sheet ${wanted}` : `sheet "${wanted}"`;
      if (model.sheets.length === 0) yield fileError(`${display}: workbook has no sheets, so ${label} is not there; file skipped`);
      else yield fileError(`${display}: ${label} not found (sheets: ${model.sheets.map((s) => s.name).join(', ')}); file skipped`);
      return;
    }
    where = `${display}!${sheet.name}`;
    const cellsPart = sheet.part ? await zip.part(sheet.part) : undefined;
    if (!cellsPart) {
      yield fileError(`${where}: the workbook lists the sheet but its part ${sheet.part ?? '(no relationship)'} is missing; file skipped`);
      return;
    }
    const ctx = { sharedStrings, numFmt, date1904: model.date1904 };
    let columns: Map<number, string> | undefined;
    for await (const row of sheetRows(iterable(cellsPart), ctx)) {
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
  } catch (err) {
    const cause = streamError ?? (err as Error);
    yield fileError(`${where}: ${describeFailure(cause)}; file skipped`);
  } finally {
    await zip?.close();
    if ('stream' in input) input.stream.destroy();
  }
}

function describeFailure(err: Error): string {
  const m = err.message || String(err);
  if (/signature|end of central directory|zip/i.test(m)) return `not a readable ZIP, so not an XLSX workbook (${m})`;
  return `unreadable sheet (${m})`;
}
