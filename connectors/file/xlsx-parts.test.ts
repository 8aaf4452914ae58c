import { createReadStream, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { FileRow } from './read-files.js';
import { readXlsx } from './xlsx-reader.js';
import { writeStoreWorkbook, writeZip } from './__fixtures__/xlsx-fixtures.js';

const root = mkdtempSync(join(tmpdir(), `tributary-xlsx-parts-${process.pid}-`));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ns = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';

async function rows(input: Parameters<typeof readXlsx>[0], options: Partial<Parameters<typeof readXlsx>[1]> = {}): Promise<FileRow[]> {
  const out: FileRow[] = [];
  for await (const r of readXlsx(input, { display: 'w.xlsx', ...options })) out.push(r);
  return out;
}

/**
 * Parts in the reverse of Excel's order: the sheets first, the workbook part
 * last (exceljs's writer also stores it after the sheets). Tab order differs
 * from part numbering: tab 1 "Late" is sheet2.xml. The workbook uses the 1904
 * date system; style 1 is built-in date format 14, style 2 a custom one.
 */
async function writeReversedWorkbook(file: string): Promise<void> {
  const cell = (ref: string, v: string, attrs = '') => `<c r="${ref}"${attrs}><v>${v}</v></c>`;
  await writeZip(file, {
    'xl/worksheets/sheet2.xml':
      `<?xml version="1.0"?><worksheet xmlns="${ns}"><sheetData>` +
      `<row r="1">${cell('A1', '0', ' t="s"')}${cell('B1', '1', ' t="s"')}${cell('C1', '2', ' t="s"')}</row>` +
      `<row r="2">${cell('A2', '7')}${cell('B2', '0', ' s="1"')}${cell('C2', '366.5', ' s="2"')}</row>` +
      `</sheetData></worksheet>`,
    'xl/worksheets/sheet1.xml': `<?xml version="1.0"?><worksheet xmlns="${ns}"><sheetData><row r="1">${cell('A1', '3', ' t="s"')}</row><row r="2">${cell('A2', '1')}</row></sheetData></worksheet>`,
    'xl/styles.xml':
      `<?xml version="1.0"?><styleSheet xmlns="${ns}"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/></numFmts>` +
      `<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>` +
      `<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>`,
    'xl/sharedStrings.xml': `<?xml version="1.0"?><sst xmlns="${ns}"><si><t>id</t></si><si><t>born</t></si><si><t>seen</t></si><si><t>code</t></si></sst>`,
    'xl/_rels/workbook.xml.rels':
      `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
      `<Relationship Id="rId1" Type="${rel}/worksheet" Target="worksheets/sheet1.xml"/>` +
      `<Relationship Id="rId2" Type="${rel}/worksheet" Target="/xl/worksheets/sheet2.xml"/>` +
      `<Relationship Id="rId3" Type="${rel}/styles" Target="styles.xml"/>` +
      `<Relationship Id="rId4" Type="${rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
    'xl/workbook.xml':
      `<?xml version="1.0"?><workbook xmlns="${ns}" xmlns:r="${rel}"><workbookPr date1904="1"/>` +
      `<sheets><sheet name="Late" sheetId="2" r:id="rId2"/><sheet name="Early" sheetId="1" r:id="rId1"/></sheets></workbook>`,
  });
}

describe('xlsx parts read through the ZIP directory', () => {
  it('a workbook part stored after the sheets still names the tabs, the date system and the number formats', async () => {
    const file = join(root, 'reversed.xlsx');
    await writeReversedWorkbook(file);
    const first = await rows({ stream: createReadStream(file), tempDir: root });
    // Serial 0 in the 1904 system is 1904-01-01; 366.5 is noon on 1905-01-01.
    expect(first).toEqual([{ kind: 'row', line: 2, data: { id: 7, born: '1904-01-01T00:00:00.000Z', seen: '1905-01-01T12:00:00.000Z' } }]);
    expect(await rows({ stream: createReadStream(file), tempDir: root }, { sheet: 2 })).toEqual([{ kind: 'row', line: 2, data: { code: 1 } }]);
    expect(await rows({ stream: createReadStream(file), tempDir: root }, { sheet: 'Early' })).toEqual([{ kind: 'row', line: 2, data: { code: 1 } }]);
    expect((await rows({ stream: createReadStream(file), tempDir: root }, { sheet: 'Nope' })).map((r) => (r.kind === 'error' ? r.reason : r))).toEqual([
      'w.xlsx: sheet "Nope" not found (sheets: Late, Early); file skipped',
    ]);
  });

  it('reads an exceljs-written workbook the same way every time (its streaming reader lost the workbook part now and then)', async () => {
    const file = join(root, 'store.xlsx');
    await writeStoreWorkbook(file);
    const reads = await Promise.all(Array.from({ length: 12 }, () => rows({ stream: createReadStream(file), tempDir: root })));
    const firstRows = reads[0].filter((r) => r.kind === 'row');
    expect(firstRows).toHaveLength(3);
    for (const r of reads) expect(r).toEqual(reads[0]);
  });

  it('a stream copy is deleted after a full read, after the caller stops early, and after the stream fails', async () => {
    const file = join(root, 'store2.xlsx');
    await writeStoreWorkbook(file);
    const spoolDir = mkdtempSync(join(root, 'spool-'));
    await rows({ stream: createReadStream(file), tempDir: spoolDir });
    expect(readdirSync(spoolDir)).toEqual([]);

    const early = readXlsx({ stream: createReadStream(file), tempDir: spoolDir }, { display: 'w.xlsx' });
    expect((await early.next()).value).toMatchObject({ kind: 'row', line: 2 });
    expect(readdirSync(spoolDir)).toHaveLength(1); // the copy is in use
    await early.return(undefined);
    expect(readdirSync(spoolDir)).toEqual([]);

    const broken = new PassThrough();
    broken.write(Buffer.from('PK\x03\x04 partial'));
    setImmediate(() => broken.destroy(new Error('connection reset by peer')));
    const failed = await rows({ stream: broken, tempDir: spoolDir });
    expect(failed).toEqual([{ kind: 'error', line: 0, raw: '', reason: 'w.xlsx: cannot be read (connection reset by peer); file skipped' }]);
    expect(readdirSync(spoolDir)).toEqual([]);
  });
});
