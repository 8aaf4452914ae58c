import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamState } from '../../core/plugin/types.js';
import { sourceConnectorKit } from '../../test/kit/source-kit.js';
import type { FileSourceConfig, XlsxStreamConfig } from './config.js';
import { xlsxSource } from './xlsx-source.js';
import { readAll, stream, tempDir, type TempDir } from './__fixtures__/harness.js';
import { writePeopleWorkbook } from './__fixtures__/xlsx-fixtures.js';

const people = (ids: number[], base = Date.UTC(2024, 0, 1)) => ids.map((id) => ({ id, email: `p${id}@example.com`, updated: new Date(base + id * 86_400_000) }));

// xlsx: a glob of workbooks, cursor on a date column (read as ISO-8601 UTC); the newer rows arrive in a second workbook.
{
  let dir: TempDir;
  sourceConnectorKit<FileSourceConfig, XlsxStreamConfig>({
    connector: xlsxSource,
    async setup() {
      dir = await tempDir(`tributary-xlsx-kit-${process.pid}-`);
      await writePeopleWorkbook(join(dir.path, 'people.xlsx'), people([1, 2, 3, 4, 5]));
      return { path: dir.path, checkpointEvery: 2 };
    },
    teardown: () => dir.remove(),
    stream: () => stream(xlsxSource, 'people', { path: 'people*.xlsx', sheet: 'People' }, { cursorField: 'updated' }),
    expectedInitialCount: 5,
    keyOf: (d) => String(d.id),
    async addNewer() {
      await writePeopleWorkbook(join(dir.path, 'people-2.xlsx'), people([6, 2], Date.UTC(2025, 0, 1)));
      return ['6', '2'];
    },
    farFutureState: () => ({ version: 1, files: {}, cursor: { field: 'updated', type: 'timestamp', max: '9999-12-31T00:00:00.000Z', keys: [] } }),
    badConfigs: [
      { name: 'glob matching nothing', config: { path: '/nonexistent-tributary-dir/*.xlsx' }, message: /matches no file/ },
      { name: 'misspelt key', config: { pth: './drops' }, message: /pth/ },
    ],
  });
}

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir(`tributary-xlsx-inc-${process.pid}-`);
});
afterEach(() => dir.remove());

const ids = (r: { records: Array<{ data: Record<string, unknown> }> }) => r.records.map((x) => Number(x.data.id));
const filesOf = (s: StreamState | undefined) => (s?.files ?? {}) as Record<string, { rows: number; line: number; done: boolean }>;
const xlsxRead = (state: Record<string, StreamState | undefined>, opts: { every?: number; stop?: number } = {}) =>
  readAll(xlsxSource, { checkpointEvery: opts.every ?? 5000 }, [stream(xlsxSource, 'people', { path: join(dir.path, '*.xlsx') })], state, {
    stopAfterStates: opts.stop,
  });

describe('xlsx source: incremental by file', () => {
  it('skips an unchanged workbook and reads a changed one again from the top', async () => {
    const a = join(dir.path, 'a.xlsx');
    const b = join(dir.path, 'b.xlsx');
    await writePeopleWorkbook(a, people([1, 2]));
    await writePeopleWorkbook(b, people([3]));
    const first = await xlsxRead({});
    expect(ids(first)).toEqual([1, 2, 3]);
    expect(ids(await xlsxRead({ people: first.last }))).toEqual([]);
    // b is saved again by the store team with one more row.
    await writePeopleWorkbook(b, people([3, 4]));
    await utimes(b, new Date(), new Date(Date.now() + 5000));
    const second = await xlsxRead({ people: first.last });
    expect(ids(second)).toEqual([3, 4]);
    expect(filesOf(second.last)[a]).toEqual(expect.objectContaining({ done: true, rows: 2 }));
  });

  it('resumes a workbook after the rows a checkpoint says are consumed, by sheet row', async () => {
    const a = join(dir.path, 'a.xlsx');
    await writePeopleWorkbook(a, people([1, 2, 3, 4, 5, 6, 7]));
    const first = await xlsxRead({}, { every: 3, stop: 1 });
    expect(ids(first)).toEqual([1, 2, 3]);
    // 3 rows consumed; the last one is sheet row 4 (row 1 is the header).
    expect(filesOf(first.last)[a]).toEqual(expect.objectContaining({ rows: 3, line: 4, done: false }));
    const second = await xlsxRead({ people: first.last }, { every: 3 });
    expect(ids(second)).toEqual([4, 5, 6, 7]);
    expect(filesOf(second.last)[a]).toEqual(expect.objectContaining({ rows: 7, line: 8, done: true }));
  });
});
