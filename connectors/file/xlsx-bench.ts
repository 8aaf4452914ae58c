import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ExcelJS from 'exceljs';
import { readXlsx } from './xlsx-reader.js';

/**
 * Peak memory of `readXlsx` on a large generated workbook:
 * `npm run build && node --expose-gc dist/connectors/file/xlsx-bench.js [rows]`
 * (850,000 rows make about 100 MB). Cells are random hex strings and numbers
 * so that the ZIP barely compresses. The workbook is written by a child process,
 * so the writer's memory does not count in the reader's peak.
 */
async function write(file: string, rowsWanted: number): Promise<void> {
  const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useSharedStrings: false, useStyles: true });
  const ws = writer.addWorksheet('Data');
  ws.columns = ['id', 'a', 'b', 'c', 'd', 'amount', 'when'].map((k) => ({ header: k, key: k }));
  ws.getColumn('when').numFmt = 'yyyy-mm-dd hh:mm';
  for (let rows = 1; rows <= rowsWanted; rows++) {
    const hex = randomBytes(32).toString('hex');
    ws.addRow({ id: rows, a: hex.slice(0, 16), b: hex.slice(16, 32), c: hex.slice(32, 48), d: hex.slice(48), amount: Math.random() * 1000, when: new Date(1_700_000_000_000 + rows * 1000) }).commit();
  }
  await ws.commit();
  await writer.commit();
}

async function main(): Promise<void> {
  if (process.argv[2] === '--write') return write(process.argv[3], Number(process.argv[4]));
  const rowsWanted = Number(process.argv[2] ?? 850_000);
  const dir = await mkdtemp(join(tmpdir(), `tributary-xlsx-bench-${process.pid}-`));
  const file = join(dir, 'large.xlsx');
  try {
    const t0 = Date.now();
    execFileSync(process.execPath, ['--max-old-space-size=8192', fileURLToPath(import.meta.url), '--write', file, String(rowsWanted)], { stdio: 'inherit' });
    const size = (await stat(file)).size;
    console.log(`wrote ${rowsWanted} rows, ${(size / 1048576).toFixed(1)} MB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    global.gc?.();
    const base = process.memoryUsage().rss;
    let peak = base;
    const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
    const timer = setInterval(sample, 50);
    const t1 = Date.now();
    let read = 0;
    let errors = 0;
    const handle = await open(file, 'r');
    try {
      for await (const r of readXlsx({ handle, size }, { display: 'large.xlsx' })) {
        if (r.kind === 'row') read++;
        else errors++;
        if (read % 10_000 === 0) sample();
      }
    } finally {
      await handle.close();
    }
    clearInterval(timer);
    const secs = (Date.now() - t1) / 1000;
    console.log(
      `read ${read} rows (${errors} errors) in ${secs.toFixed(1)} s: ${Math.round(read / secs)} rows/s, ${(size / 1048576 / secs).toFixed(1)} MB/s; ` +
        `RSS before ${(base / 1048576).toFixed(0)} MB, peak ${(peak / 1048576).toFixed(0)} MB`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
