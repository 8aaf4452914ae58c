import { writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import ExcelJS from 'exceljs';

/** Test workbooks, written by exceljs's own writer (which stores sheets before shared strings and styles). */

/** A store team's sheet: title rows, a merged header, typed cells, an error cell, formatted empty rows at the end; and a second sheet. */
export async function writeStoreWorkbook(file: string): Promise<void> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Customers');
  ws.addRow(['id', 'name', 'Address', null, null, 'joined', 'vip', 'spend', 'double', 'site']);
  ws.mergeCells('C1:E1');
  ws.addRow([
    1,
    { richText: [{ text: 'Ann ' }, { font: { bold: true }, text: 'Lee' }] },
    'Main St 1',
    'Oslo',
    '0150',
    new Date(Date.UTC(2024, 0, 15, 9, 30, 0)),
    true,
    12.5,
    { formula: 'H2*2', result: 25 },
    { text: 'shop', hyperlink: 'https://example.com/shop' },
  ]);
  ws.addRow([2, 'Bob', 'Side Rd 2', 'Bergen', '5003', new Date(Date.UTC(2023, 11, 31)), false, 0, { formula: 'H3*2', result: 0 }, 'none']);
  ws.addRow([3, 'Cid', null, null, null, null, null, 7, { formula: 'H4/0', result: { error: '#DIV/0!' } }, null]);
  ws.getCell('J4').value = { error: '#REF!' };
  ws.addRow([4, 'Dee', null, null, null, null, null, null, { formula: 'CONCAT("a","b")', result: 'ab' }, null]);
  // A formula with a date format and a cached serial (45000 = 2023-03-15).
  ws.getCell('F5').value = { formula: 'F2+1', result: 45000 };
  ws.getCell('F5').numFmt = 'yyyy-mm-dd';
  // Formatted but empty rows after the data: not records.
  for (const r of [6, 7, 30]) ws.getRow(r).getCell(2).numFmt = '0.00';
  const other = wb.addWorksheet('Stores');
  other.addRow(['Store list, exported 2024-02-01']);
  other.addRow([]);
  other.addRow(['code', 'city']);
  other.addRow(['S1', 'Oslo']);
  other.addRow(['S2', 'Bergen']);
  await wb.xlsx.writeFile(file);
}

/** A workbook with one sheet `People` holding `id, email, updated` rows. */
export async function writePeopleWorkbook(file: string, rows: Array<{ id: number; email: string; updated?: Date | number }>): Promise<void> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('People');
  ws.addRow(['id', 'email', 'updated']);
  for (const r of rows) ws.addRow([r.id, r.email, r.updated ?? null]);
  await wb.xlsx.writeFile(file);
}

/** A valid workbook with one sheet and no cells. */
export async function writeEmptyWorkbook(file: string): Promise<void> {
  const wb = new ExcelJS.Workbook();
  wb.addWorksheet('Empty');
  await wb.xlsx.writeFile(file);
}

/** A ZIP (stored, no compression) of the given entries: to make "a ZIP of something else". */
export async function writeZip(file: string, entries: Record<string, string>): Promise<void> {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(entries)) {
    const nameBuf = Buffer.from(name, 'utf8');
    const data = Buffer.from(text, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(nameBuf.length, 28);
    dir.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, data);
    central.push(dir, nameBuf);
    offset += local.length + nameBuf.length + data.length;
  }
  const dirSize = central.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(dirSize, 12);
  end.writeUInt32LE(offset, 16);
  await writeFile(file, Buffer.concat([...locals, ...central, end]));
}

/**
 * A workbook written by hand, parts in the order Excel uses (workbook, shared
 * strings, then the sheet), with `sheetXml` as the rows of its only sheet `Data`.
 * Cells use shared strings 0 = "id", 1 = "name", 2 = "Ann" (with a phonetic guide, which is not text).
 */
export async function writeHandMadeXlsx(file: string, sheetXml: string): Promise<void> {
  const ns = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
  const rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
  await writeZip(file, {
    'xl/workbook.xml': `<?xml version="1.0"?><workbook xmlns="${ns}" xmlns:r="${rel}"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`,
    'xl/_rels/workbook.xml.rels': `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
    'xl/sharedStrings.xml': `<?xml version="1.0"?><sst xmlns="${ns}" count="3" uniqueCount="3"><si><t>id</t></si><si><t>name</t></si><si><t>Ann</t><rPh sb="0" eb="3"><t>アン</t></rPh></si></sst>`,
    'xl/worksheets/sheet1.xml': `<?xml version="1.0"?><worksheet xmlns="${ns}"><sheetData>${sheetXml}</sheetData></worksheet>`,
  });
}
