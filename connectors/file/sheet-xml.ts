import { PassThrough, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { SaxesParser, type SaxesTagPlain } from 'saxes';

/**
 * The XML of shared strings and sheets, parsed here rather than by exceljs's
 * cell model: that model drops a formula's cached result when it is falsy
 * (0, false, "": `_copyModel` in exceljs lib/doc/cell.js), keeps only NaN for
 * an error result, and decodes each chunk on its own, which breaks a UTF-8
 * character split across two chunks. The ZIP and the workbook and style parts
 * are read by xlsx-zip.ts and workbook-parts.ts.
 */

export type SaxEvent = { kind: 'open'; tag: SaxesTagPlain } | { kind: 'text'; text: string } | { kind: 'close'; name: string };

/** SAX events of an XML byte stream, in batches (one per chunk), UTF-8 decoded across chunk boundaries. */
export async function* saxEvents(input: AsyncIterable<Buffer | string>): AsyncGenerator<SaxEvent[]> {
  const parser = new SaxesParser();
  const decoder = new StringDecoder('utf8');
  let batch: SaxEvent[] = [];
  let failure: Error | undefined;
  parser.on('error', (err) => (failure ??= err));
  parser.on('opentag', (tag) => batch.push({ kind: 'open', tag: tag as SaxesTagPlain }));
  parser.on('text', (text) => batch.push({ kind: 'text', text }));
  parser.on('closetag', (tag) => batch.push({ kind: 'close', name: tag.name }));
  for await (const chunk of input) {
    parser.write(typeof chunk === 'string' ? chunk : decoder.write(chunk));
    if (failure) throw failure;
    if (batch.length) yield batch;
    batch = [];
  }
  parser.write(decoder.end());
  parser.close();
  if (failure) throw failure;
  if (batch.length) yield batch;
}

/** A Node or readable-stream stream as an async iterable (unzipper entries are the latter). */
export function iterable(stream: Readable | AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  if (Symbol.asyncIterator in stream) return stream as AsyncIterable<Buffer>;
  return (stream as Readable).pipe(new PassThrough());
}

/** The shared strings table as plain text: rich text runs joined, phonetic guides (`rPh`) left out. */
export async function parseSharedStrings(input: AsyncIterable<Buffer | string>): Promise<string[]> {
  const out: string[] = [];
  let current: string[] | undefined;
  let inT = false;
  let phonetic = 0;
  for await (const batch of saxEvents(input)) {
    for (const e of batch) {
      if (e.kind === 'open') {
        if (e.tag.name === 'si') current = [];
        else if (e.tag.name === 'rPh') phonetic++;
        else if (e.tag.name === 't') inT = true;
      } else if (e.kind === 'text') {
        if (inT && current && phonetic === 0) current.push(e.text);
      } else if (e.name === 'si') {
        out.push((current ?? []).join(''));
        current = undefined;
      } else if (e.name === 'rPh') phonetic--;
      else if (e.name === 't') inT = false;
    }
  }
  return out;
}

/** A cell as read: its JSON value (undefined when empty), or why it has none. */
export type CellValue = { ok: true; value: string | number | boolean | undefined } | { ok: false; reason: string };
export interface SheetCell {
  col: number;
  result: CellValue;
}
export interface SheetRow {
  number: number;
  cells: SheetCell[];
}

export interface SheetContext {
  sharedStrings: readonly string[];
  /** The number format of a style index (`s` attribute), if any. */
  numFmt(style: number): string | undefined;
  date1904: boolean;
}

/** Number formats that show a date or time (quoted literals, escapes and [colour]/[h] brackets removed first). */
export function isDateFormat(fmt: string | undefined): boolean {
  if (!fmt) return false;
  const bare = fmt.replace(/"[^"]*"/g, '').replace(/\[[^\]]*\]/g, '').replace(/\\./g, '');
  return /[ymdhs]/i.test(bare);
}

/** Excel serial day (1900 system; 1904 when the workbook says so) to a UTC instant. Workbooks have no zone: UTC is assumed. */
export function serialToIso(serial: number, date1904: boolean): string {
  const epoch = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 30);
  return new Date(epoch + Math.round(serial * 86_400_000)).toISOString();
}

/** Column number of a cell reference (`C7` → 3), or undefined when it is not one. */
export function columnOf(ref: string | undefined): number | undefined {
  const m = ref ? /^([A-Z]{1,3})\d*$/.exec(ref.toUpperCase()) : null;
  if (!m) return undefined;
  let n = 0;
  for (const ch of m[1]) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n;
}

interface RawCell {
  col: number;
  type: string;
  style: number;
  formula: boolean;
  value?: string;
  inline: string[];
}

function cellValue(c: RawCell, ctx: SheetContext): CellValue {
  const v = c.value;
  switch (c.type) {
    case 'inlineStr':
      return { ok: true, value: c.inline.length ? c.inline.join('') : (v ?? undefined) };
    case 's': {
      if (v === undefined) return { ok: true, value: undefined };
      const i = Number.parseInt(v, 10);
      const s = ctx.sharedStrings[i];
      return s === undefined ? { ok: false, reason: `refers to shared string ${v}, which the workbook does not define` } : { ok: true, value: s };
    }
    case 'str':
      return v === undefined && c.formula ? { ok: false, reason: 'is a formula without a cached result' } : { ok: true, value: v ?? '' };
    case 'b':
      return v === undefined ? { ok: true, value: undefined } : { ok: true, value: v.trim() !== '0' && v.trim() !== '' };
    case 'e':
      return { ok: false, reason: `${c.formula ? 'is a formula whose cached result is the error' : 'holds the error'} ${v ?? '(unknown)'}` };
    case 'd': {
      if (v === undefined) return { ok: true, value: undefined };
      const t = Date.parse(v.endsWith('Z') || /[+-]\d\d:\d\d$/.test(v) ? v : `${v}Z`);
      return Number.isNaN(t) ? { ok: false, reason: `holds an unreadable date "${v}"` } : { ok: true, value: new Date(t).toISOString() };
    }
    default: {
      if (v === undefined || v.trim() === '') {
        return c.formula ? { ok: false, reason: 'is a formula without a cached result (open and save the workbook in a spreadsheet program to compute it)' } : { ok: true, value: undefined };
      }
      const n = Number(v);
      if (!Number.isFinite(n)) return { ok: false, reason: `holds a number that does not parse: "${v.slice(0, 40)}"` };
      return isDateFormat(ctx.numFmt(c.style)) ? { ok: true, value: serialToIso(n, ctx.date1904) } : { ok: true, value: n };
    }
  }
}

/**
 * Rows of a sheet part (`xl/worksheets/sheetN.xml`) in order, each with the
 * cells that have a value or a reason. Rows and cells without `r` attributes
 * follow the one before them, as the format allows.
 */
export async function* sheetRows(input: AsyncIterable<Buffer | string>, ctx: SheetContext): AsyncGenerator<SheetRow> {
  let inData = false;
  let row: SheetRow | undefined;
  let lastRow = 0;
  let cell: RawCell | undefined;
  let lastCol = 0;
  let text: 'v' | 'inline' | undefined;
  let phonetic = 0;
  for await (const batch of saxEvents(input)) {
    const done: SheetRow[] = [];
    for (const e of batch) {
      if (e.kind === 'open') {
        const a = e.tag.attributes as Record<string, string>;
        switch (e.tag.name) {
          case 'sheetData':
            inData = true;
            break;
          case 'row':
            if (!inData) break;
            lastRow = a.r ? Number.parseInt(a.r, 10) : lastRow + 1;
            row = { number: lastRow, cells: [] };
            lastCol = 0;
            break;
          case 'c':
            if (!row) break;
            lastCol = columnOf(a.r) ?? lastCol + 1;
            cell = { col: lastCol, type: a.t ?? 'n', style: a.s ? Number.parseInt(a.s, 10) : 0, formula: false, inline: [] };
            break;
          case 'f':
            if (cell) cell.formula = true;
            break;
          case 'v':
            if (cell) {
              cell.value = '';
              text = 'v';
            }
            break;
          case 'rPh':
            phonetic++;
            break;
          case 't':
            if (cell && phonetic === 0) text = 'inline';
            break;
        }
      } else if (e.kind === 'text') {
        if (!cell) continue;
        if (text === 'v') cell.value += e.text;
        else if (text === 'inline') cell.inline.push(e.text);
      } else {
        switch (e.name) {
          case 'v':
          case 't':
            text = undefined;
            break;
          case 'rPh':
            phonetic--;
            break;
          case 'c':
            if (row && cell) row.cells.push({ col: cell.col, result: cellValue(cell, ctx) });
            cell = undefined;
            break;
          case 'row':
            if (row) done.push(row);
            row = undefined;
            break;
          case 'sheetData':
            inData = false;
            break;
        }
      }
    }
    yield* done;
  }
}
