import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { saxEvents } from './sheet-xml.js';

/** The parts of a workbook besides its sheets: tab names and where each sheet is stored, the date system, number formats. */

/** A tab of the workbook, in tab order, with the ZIP part holding its cells. */
export interface WorkbookSheet {
  name: string;
  /** Part name in the ZIP (`xl/worksheets/sheet1.xml`); undefined when the relationship is missing. */
  part: string | undefined;
}

export interface WorkbookModel {
  sheets: WorkbookSheet[];
  date1904: boolean;
  /** Part name of the shared strings, when the workbook has them. */
  sharedStrings: string | undefined;
  /** Part name of the styles, when the workbook has them. */
  styles: string | undefined;
}

const attr = (tag: { attributes: Record<string, unknown> }, name: string): string | undefined => {
  const v = tag.attributes[name];
  return typeof v === 'string' ? v : undefined;
};

/** An attribute by local name whatever its prefix (`r:id`, `ns0:id`). */
const prefixed = (tag: { attributes: Record<string, unknown> }, local: string): string | undefined => {
  for (const [k, v] of Object.entries(tag.attributes)) if (k.endsWith(`:${local}`) && typeof v === 'string') return v;
  return undefined;
};

/** Local name of a tag (`x:sheet` → `sheet`): some writers prefix SpreadsheetML elements. */
const local = (name: string) => name.slice(name.indexOf(':') + 1);

interface Relationship {
  type: string;
  target: string;
}

/** Relationships of `xl/workbook.xml`, by id, targets resolved to part names. */
export async function parseWorkbookRels(input: Readable, base = 'xl'): Promise<Map<string, Relationship>> {
  const rels = new Map<string, Relationship>();
  for await (const batch of saxEvents(input)) {
    for (const e of batch) {
      if (e.kind !== 'open' || local(e.tag.name) !== 'Relationship') continue;
      const id = attr(e.tag, 'Id');
      const target = attr(e.tag, 'Target');
      if (!id || !target || attr(e.tag, 'TargetMode') === 'External') continue;
      const part = target.startsWith('/') ? target.slice(1) : posix.normalize(posix.join(base, target));
      rels.set(id, { type: attr(e.tag, 'Type') ?? '', target: part });
    }
  }
  return rels;
}

/** Tabs (in order) and the date system of `xl/workbook.xml`, with the parts its relationships name. */
export async function parseWorkbook(input: Readable, rels: Map<string, Relationship>): Promise<WorkbookModel> {
  const sheets: WorkbookSheet[] = [];
  let date1904 = false;
  let root = false;
  for await (const batch of saxEvents(input)) {
    for (const e of batch) {
      if (e.kind !== 'open') continue;
      const name = local(e.tag.name);
      if (name === 'workbook') root = true;
      else if (name === 'workbookPr') {
        const v = attr(e.tag, 'date1904');
        date1904 = v === '1' || v === 'true';
      } else if (name === 'sheet') {
        const id = prefixed(e.tag, 'id') ?? attr(e.tag, 'id');
        sheets.push({ name: attr(e.tag, 'name') ?? `Sheet${sheets.length + 1}`, part: id ? rels.get(id)?.target : undefined });
      }
    }
  }
  if (!root) throw new Error('xl/workbook.xml has no <workbook> element');
  const byType = (suffix: string) => [...rels.values()].find((r) => r.type.endsWith(`/${suffix}`))?.target;
  return { sheets, date1904, sharedStrings: byType('sharedStrings'), styles: byType('styles') };
}

/**
 * Built-in number formats (ECMA-376 part 1, 18.8.30) that a style may name by
 * id alone. Only whether a format shows a date matters here; the East Asian
 * date ids (27-36, 50-58) are given one date format for all locales.
 */
const BUILT_IN: Record<number, string> = {
  0: 'General', 1: '0', 2: '0.00', 3: '#,##0', 4: '#,##0.00', 9: '0%', 10: '0.00%', 11: '0.00E+00', 12: '# ?/?', 13: '# ??/??',
  14: 'mm-dd-yy', 15: 'd-mmm-yy', 16: 'd-mmm', 17: 'mmm-yy', 18: 'h:mm AM/PM', 19: 'h:mm:ss AM/PM', 20: 'h:mm', 21: 'h:mm:ss', 22: 'm/d/yy h:mm',
  37: '#,##0 ;(#,##0)', 38: '#,##0 ;[Red](#,##0)', 39: '#,##0.00;(#,##0.00)', 40: '#,##0.00;[Red](#,##0.00)',
  45: 'mm:ss', 46: '[h]:mm:ss', 47: 'mmss.0', 48: '##0.0E+0', 49: '@',
};
for (const id of [27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 50, 51, 52, 53, 54, 55, 56, 57, 58]) BUILT_IN[id] = 'yyyy-mm-dd';

/** The number format of each cell style (`s` attribute of a cell indexes `cellXfs`). */
export async function parseStyles(input: Readable): Promise<(style: number) => string | undefined> {
  const custom = new Map<number, string>();
  const xfs: number[] = [];
  let inCellXfs = false;
  for await (const batch of saxEvents(input)) {
    for (const e of batch) {
      if (e.kind === 'close') {
        if (local(e.name) === 'cellXfs') inCellXfs = false;
        continue;
      }
      if (e.kind !== 'open') continue;
      const name = local(e.tag.name);
      if (name === 'numFmt') {
        const id = Number(attr(e.tag, 'numFmtId'));
        const code = attr(e.tag, 'formatCode');
        if (Number.isInteger(id) && code !== undefined) custom.set(id, code);
      } else if (name === 'cellXfs') inCellXfs = true;
      else if (name === 'xf' && inCellXfs) xfs.push(Number(attr(e.tag, 'numFmtId') ?? 0));
    }
  }
  return (style) => {
    const id = xfs[style];
    if (id === undefined || !Number.isInteger(id)) return undefined;
    return custom.get(id) ?? BUILT_IN[id];
  };
}
