import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import ExcelJS from 'exceljs';
import { xlsxSource } from './xlsx-source.js';
import { context, readAll, stream, tempDir, type TempDir } from './__fixtures__/harness.js';
import { writeEmptyWorkbook, writeHandMadeXlsx, writeStoreWorkbook, writeZip } from './__fixtures__/xlsx-fixtures.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir(`tributary-xlsx-${process.pid}-`);
});
afterEach(() => dir.remove());

const read = (config: Record<string, unknown>, opts: { warnings?: string[]; counts?: Map<string, number> } = {}) => {
  const counts = opts.counts;
  const metrics = { count: (name: string, n = 1) => void counts?.set(name, (counts.get(name) ?? 0) + n) };
  return readAll(xlsxSource, { checkpointEvery: 5000 }, [stream(xlsxSource, 's', config, { mode: 'full_refresh' })], {}, { warnings: opts.warnings, metrics });
};

describe('xlsx source: cells', () => {
  it('reads typed cells, formulas by their cached values, a merged header and skips formatted empty rows', async () => {
    const file = join(dir.path, 'store.xlsx');
    await writeStoreWorkbook(file);
    const { records, errors } = await read({ path: file });
    expect(records.map((r) => r.data)).toEqual([
      {
        id: 1,
        name: 'Ann Lee',
        Address: 'Main St 1',
        Address_2: 'Oslo',
        Address_3: '0150',
        joined: '2024-01-15T09:30:00.000Z',
        vip: true,
        spend: 12.5,
        double: 25,
        site: 'shop',
      },
      { id: 2, name: 'Bob', Address: 'Side Rd 2', Address_2: 'Bergen', Address_3: '5003', joined: '2023-12-31T00:00:00.000Z', vip: false, spend: 0, double: 0, site: 'none' },
      { id: 4, name: 'Dee', joined: '2023-03-15T00:00:00.000Z', double: 'ab' },
    ]);
    expect(records.map((r) => r.origin?.replace(/.*:/, ''))).toEqual(['2', '3', '5']);
    // Row 4 has two error cells: one dead letter naming both, by file, sheet and cell.
    expect(errors).toHaveLength(1);
    expect(errors[0].origin).toMatch(/store\.xlsx:4$/);
    expect(errors[0].reason).toMatch(/store\.xlsx!Customers!I4 is a formula/);
    expect(errors[0].reason).toMatch(/store\.xlsx!Customers!J4 holds the error #REF!/);
    expect(JSON.parse(errors[0].raw ?? '')).toEqual({ id: 3, name: 'Cid', spend: 7 });
  });

  it('names empty header cells column_N with mergedHeader: blank', async () => {
    const file = join(dir.path, 'store.xlsx');
    await writeStoreWorkbook(file);
    const { records } = await read({ path: file, mergedHeader: 'blank' });
    expect(records[0].data).toMatchObject({ Address: 'Main St 1', column_4: 'Oslo', column_5: '0150' });
  });

  it('leaves error cells out with a counted warning when cellErrors is omit', async () => {
    const file = join(dir.path, 'store.xlsx');
    await writeStoreWorkbook(file);
    const warnings: string[] = [];
    const counts = new Map<string, number>();
    const { records, errors } = await read({ path: file, cellErrors: 'omit' }, { warnings, counts });
    expect(errors).toEqual([]);
    expect(records.map((r) => r.data.id)).toEqual([1, 2, 3, 4]);
    expect(records[2].data).toEqual({ id: 3, name: 'Cid', spend: 7 });
    expect(warnings.filter((w) => /Customers!(I4|J4)/.test(w))).toHaveLength(2);
    expect(counts.get('xlsx_warnings')).toBe(2);
  });

  it('reads a cached error result of a formula and shared strings stored before the sheet (Excel part order)', async () => {
    const file = join(dir.path, 'hand.xlsx');
    await writeHandMadeXlsx(
      file,
      '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>' +
        '<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>2</v></c></row>' +
        '<row r="3"><c r="A3"><v>2</v></c><c r="B3" t="e"><f>#REF!+1</f><v>#REF!</v></c></row>' +
        '<row r="4"><c r="A4"><v>3</v></c><c r="B4" t="str"><f>"Bo"&amp;"b"</f><v>Bob</v></c></row>',
    );
    const { records, errors } = await read({ path: file });
    expect(records.map((r) => r.data)).toEqual([
      { id: 1, name: 'Ann' },
      { id: 3, name: 'Bob' },
    ]);
    expect(errors.map((e) => e.reason)).toEqual([expect.stringMatching(/hand\.xlsx!Data!B3 is a formula whose cached result is the error #REF!/)]);
  });

  it('keeps UTF-8 characters that straddle two chunks of the unzipped parts', async () => {
    const file = join(dir.path, 'utf8.xlsx');
    const long = 'Ærøskøbing ø'.repeat(20_000);
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Names');
    ws.addRow(['id', 'town']);
    for (let i = 1; i <= 2000; i++) ws.addRow([i, i === 1 ? long : `Tromsø ${i} 東京`]);
    await wb.xlsx.writeFile(file);
    const { records, errors } = await read({ path: file });
    expect(errors).toEqual([]);
    expect(records).toHaveLength(2000);
    expect(records[0].data.town).toBe(long);
    expect(records.filter((r, i) => i > 0 && r.data.town !== `Tromsø ${i + 1} 東京`)).toEqual([]);
  });
});

describe('xlsx source: sheets and header row', () => {
  it('reads a sheet by name or by tab position, with the header on a later row', async () => {
    const file = join(dir.path, 'store.xlsx');
    await writeStoreWorkbook(file);
    const want = [
      { code: 'S1', city: 'Oslo' },
      { code: 'S2', city: 'Bergen' },
    ];
    expect((await read({ path: file, sheet: 'Stores', headerRow: 3 })).records.map((r) => r.data)).toEqual(want);
    expect((await read({ path: file, sheet: 2, headerRow: 3 })).records.map((r) => r.data)).toEqual(want);
    expect((await read({ path: file, sheet: 1 })).records).toHaveLength(3);
  });

  it('reports a header row that is empty above data, once, naming file and sheet', async () => {
    const file = join(dir.path, 'store.xlsx');
    await writeStoreWorkbook(file);
    const { records, errors } = await read({ path: file, sheet: 'Stores', headerRow: 2 });
    expect(records).toEqual([]);
    expect(errors.map((e) => e.reason)).toEqual([expect.stringMatching(/store\.xlsx!Stores: header row 2 is empty but row 3 holds data/)]);
  });

  it('reports a missing sheet naming the file and the sheets it has', async () => {
    const file = join(dir.path, 'store.xlsx');
    await writeStoreWorkbook(file);
    for (const sheet of ['Returns', 3]) {
      const { records, errors } = await read({ path: file, sheet });
      expect(records).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(errors[0].reason).toMatch(/store\.xlsx: sheet "?(Returns|3)"? not found \(sheets: Customers, Stores\)/);
    }
  });
});

describe('xlsx source: the README example', () => {
  it('reads the store team loyalty sheet as documented', async () => {
    const file = join(dir.path, 'loyalty.xlsx');
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Members');
    ws.addRow(['Loyalty members, Oslo']);
    ws.addRow(['member_id', 'email', 'Address', null, null, 'joined', 'points']);
    ws.mergeCells('C2:E2');
    ws.addRow([101, 'ann@fjordpost.no', 'Main St 1', 'Oslo', '0150', new Date(Date.UTC(2024, 0, 15)), { formula: 'SUM(H3:K3)', result: 250 }]);
    ws.addRow([102, 'bob@fjordpost.no', 'Side Rd 2', 'Oslo', '0151', new Date(Date.UTC(2023, 11, 31)), { formula: 'SUM(H4:K4)', result: { error: '#REF!' } }]);
    await wb.xlsx.writeFile(file);
    const { records, errors } = await read({ path: file, sheet: 'Members', headerRow: 2 });
    expect(records.map((r) => r.data)).toEqual([
      { member_id: 101, email: 'ann@fjordpost.no', Address: 'Main St 1', Address_2: 'Oslo', Address_3: '0150', joined: '2024-01-15T00:00:00.000Z', points: 250 },
    ]);
    expect(records[0].origin).toMatch(/loyalty\.xlsx:3$/);
    expect(errors.map((e) => e.reason)).toEqual([expect.stringMatching(/loyalty\.xlsx!Members!G4 is a formula whose cached result is the error #REF!/)]);
  });
});

describe('xlsx source: bad and empty files', () => {
  it('an empty workbook gives no records and no error', async () => {
    const file = join(dir.path, 'empty.xlsx');
    await writeEmptyWorkbook(file);
    const { records, errors, last } = await read({ path: file });
    expect(records).toEqual([]);
    expect(errors).toEqual([]);
    expect(Object.values(last?.files ?? {})).toEqual([expect.objectContaining({ done: true, rows: 0 })]);
  });

  it('a CSV renamed .xlsx, a ZIP of something else, an empty file and a broken sheet are errors naming the file, never a crash', async () => {
    await writeFile(join(dir.path, 'a-csv.xlsx'), 'id,email\n1,a@example.com\n');
    await writeZip(join(dir.path, 'b-zip.xlsx'), { 'readme.txt': 'not a workbook', 'data/x.csv': 'id\n1\n' });
    await writeFile(join(dir.path, 'c-empty.xlsx'), '');
    await writeHandMadeXlsx(join(dir.path, 'd-broken.xlsx'), '<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><v>1</v></row>');
    const { records, errors } = await read({ path: join(dir.path, '*.xlsx') });
    expect(records).toEqual([]);
    expect(errors.map((e) => e.reason)).toEqual([
      expect.stringMatching(/a-csv\.xlsx: not a readable ZIP, so not an XLSX workbook/),
      expect.stringMatching(/b-zip\.xlsx: not an XLSX workbook \(no xl\/workbook\.xml/),
      expect.stringMatching(/c-empty\.xlsx: empty file/),
      expect.stringMatching(/d-broken\.xlsx!Data: unreadable sheet/),
    ]);
  });
});

describe('xlsx source: discover', () => {
  it('lists one stream per workbook with the header columns and sampled types', async () => {
    await writeStoreWorkbook(join(dir.path, 'store.xlsx'));
    const streams = await xlsxSource.discover(context({ path: dir.path, checkpointEvery: 5000 }));
    expect(streams.map((s) => s.name)).toEqual(['store']);
    expect(streams[0].fields).toMatchObject({
      id: { type: ['integer'] },
      joined: { type: ['string'] },
      vip: { type: ['boolean'] },
      spend: { type: ['number'] },
      Address_2: { type: ['string'] },
    });
    expect(streams[0].primaryKey).toEqual(['id']);
  });
});
