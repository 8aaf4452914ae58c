import { appendFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StreamState } from '../../core/plugin/types.js';
import { csvSource } from './csv-source.js';
import { jsonlSource } from './jsonl-source.js';
import { readAll, stream, tempDir, type TempDir } from './__fixtures__/harness.js';

let dir: TempDir;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

const rowsCsv = (rows: Array<[number, number | string]>) => `id,v\n${rows.map(([id, v]) => `${id},${v}`).join('\n')}\n`;
const ids = (r: { records: Array<{ data: Record<string, unknown> }> }) => r.records.map((x) => Number(x.data.id));
const filesOf = (s: StreamState | undefined) => (s?.files ?? {}) as Record<string, { rows: number; line: number; done: boolean }>;

function csvRead(pattern: string, state: Record<string, StreamState | undefined>, opts: { every?: number; cursor?: string; stop?: number; mode?: 'incremental' | 'full_refresh' } = {}) {
  const s = stream(csvSource, 'people', { path: join(dir.path, pattern) }, { cursorField: opts.cursor, mode: opts.mode ?? 'incremental' });
  return readAll(csvSource, { checkpointEvery: opts.every ?? 5000 }, [s], state, { stopAfterStates: opts.stop });
}

describe('resuming mid-file', () => {
  it('continues after the rows a checkpoint says are consumed: nothing lost, nothing twice', async () => {
    const file = join(dir.path, 'p.csv');
    // Row 5 is malformed: errors count as consumed rows too.
    await writeFile(file, 'id,v\n1,a\n2,b\n3,c\n4,"d\n5,e\n6,f\n7,g\n8,h\n9,i\n');
    const first = await csvRead('p.csv', {}, { every: 3, stop: 2 });
    expect(ids(first)).toEqual([1, 2, 3, 5, 6]);
    expect(first.errors.map((e) => e.origin?.replace(/.*:/, ''))).toEqual(['5']);
    expect(filesOf(first.last)[file]).toEqual(expect.objectContaining({ rows: 6, line: 7, done: false }));
    // Each state covers exactly the rows sent before it.
    const full = await csvRead('p.csv', {}, { every: 3, mode: 'full_refresh' });
    let units = 0;
    for (const m of full.messages) {
      if (m.type === 'state') expect(filesOf(m.state)[file].rows).toBe(units);
      else units++;
    }

    const second = await csvRead('p.csv', { people: first.last }, { every: 3 });
    expect(ids(second)).toEqual([7, 8, 9]);
    expect(second.errors).toEqual([]);
    expect(filesOf(second.last)[file]).toEqual(expect.objectContaining({ rows: 9, done: true }));
    expect([...ids(first), ...ids(second)]).toEqual([1, 2, 3, 5, 6, 7, 8, 9]);
  });

  it('restarts a file from the top when it changed since the checkpoint', async () => {
    await writeFile(join(dir.path, 'p.csv'), rowsCsv([[1, 1], [2, 2], [3, 3], [4, 4]]));
    const first = await csvRead('p.csv', {}, { every: 2, stop: 1 });
    expect(ids(first)).toEqual([1, 2]);
    await writeFile(join(dir.path, 'p.csv'), rowsCsv([[10, 1], [20, 2], [30, 3]]));
    expect(ids(await csvRead('p.csv', { people: first.last }))).toEqual([10, 20, 30]);
  });

  it('with a cursor, a resumed run keeps the bound of the run it continues', async () => {
    const file = join(dir.path, 'p.csv');
    await writeFile(file, rowsCsv([[1, 10], [2, 20]]));
    const a = await csvRead('p.csv', {}, { cursor: 'v' });
    expect(a.last?.cursor).toEqual({ field: 'v', type: 'number', max: '20', keys: ['2'] });
    await appendFile(file, '3,50\n4,30\n5,25\n6,60\n7,21\n');
    // Killed after 4 rows: 3 (50) and 4 (30) emitted, the running maximum is 50.
    const b = await csvRead('p.csv', { people: a.last }, { cursor: 'v', every: 2, stop: 2 });
    expect(ids(b)).toEqual([3, 4]);
    expect(b.last?.run).toEqual({ field: 'v', type: 'number', max: '50', keys: ['3'] });
    expect(b.last?.cursor).toEqual(a.last?.cursor);
    // 25 and 21 are below 50 but above the run's bound (20): they must still come.
    const c = await csvRead('p.csv', { people: b.last }, { cursor: 'v', every: 2 });
    expect(ids(c)).toEqual([5, 6, 7]);
    expect(c.last?.cursor).toEqual({ field: 'v', type: 'number', max: '60', keys: ['6'] });
    expect(c.last?.run).toBeUndefined();
    expect(ids(await csvRead('p.csv', { people: c.last }, { cursor: 'v' }))).toEqual([]);
  });
});

describe('stopping', () => {
  it('stops reading when the run is aborted', async () => {
    await writeFile(join(dir.path, 'a.csv'), rowsCsv([[1, 1], [2, 2], [3, 3]]));
    const abort = new AbortController();
    const noop = () => undefined;
    const ctx = { name: 't', config: { checkpointEvery: 10 }, logger: { debug: noop, info: noop, warn: noop, error: noop }, metrics: { count: noop }, signal: abort.signal };
    const seen: number[] = [];
    for await (const m of csvSource.read(ctx, [stream(csvSource, 'people', { path: join(dir.path, 'a.csv') })], {})) {
      if (m.type === 'record') seen.push(Number(m.data.id));
      abort.abort();
    }
    expect(seen).toEqual([1]);
  });
});

describe('incremental by file', () => {
  it('skips an unchanged file and still yields the state', async () => {
    await writeFile(join(dir.path, 'a.csv'), rowsCsv([[1, 1], [2, 2]]));
    const first = await csvRead('*.csv', {});
    expect(ids(first)).toEqual([1, 2]);
    const again = await csvRead('*.csv', { people: first.last });
    expect(again.records).toEqual([]);
    expect(again.last).toEqual(first.last);
  });

  it('reads a new file, re-reads a changed one whole, and forgets a removed one', async () => {
    await writeFile(join(dir.path, 'a.csv'), rowsCsv([[1, 1]]));
    await writeFile(join(dir.path, 'b.csv'), rowsCsv([[2, 2]]));
    const first = await csvRead('*.csv', {});
    expect(ids(first)).toEqual([1, 2]);
    await appendFile(join(dir.path, 'a.csv'), '3,3\n');
    await writeFile(join(dir.path, 'c.csv'), rowsCsv([[4, 4]]));
    await unlink(join(dir.path, 'b.csv'));
    const second = await csvRead('*.csv', { people: first.last });
    expect(ids(second)).toEqual([1, 3, 4]);
    expect(Object.keys(filesOf(second.last)).map((f) => f.slice(dir.path.length + 1))).toEqual(['a.csv', 'c.csv']);
  });

  it('sees a same-size rewrite with the old modification time through the head hash', async () => {
    const file = join(dir.path, 'a.csv');
    await writeFile(file, rowsCsv([[1, 1]]));
    const before = await stat(file);
    const first = await csvRead('a.csv', {});
    await writeFile(file, rowsCsv([[7, 1]]));
    await utimes(file, before.atime, before.mtime);
    expect(ids(await csvRead('a.csv', { people: first.last }))).toEqual([7]);
  });

  it('full refresh reads everything whatever the state says', async () => {
    await writeFile(join(dir.path, 'a.csv'), rowsCsv([[1, 1], [2, 2]]));
    const first = await csvRead('a.csv', {}, { cursor: 'v' });
    expect(ids(await csvRead('a.csv', { people: first.last }, { cursor: 'v', mode: 'full_refresh' }))).toEqual([1, 2]);
  });

  it('starts over, with a warning, from a state it does not recognise', async () => {
    await writeFile(join(dir.path, 'a.csv'), rowsCsv([[1, 1]]));
    const warnings: string[] = [];
    const s = stream(csvSource, 'people', { path: join(dir.path, 'a.csv') });
    const r = await readAll(csvSource, { checkpointEvery: 10 }, [s], { people: { c: '2024', k: '9' } }, { warnings });
    expect(ids(r)).toEqual([1]);
    expect(warnings.join()).toMatch(/not a file-connector state/);
  });
});

describe('incremental by cursor', () => {
  it('neither loses nor re-reads rows tied at the saved maximum', async () => {
    const file = join(dir.path, 'p.csv');
    await writeFile(file, rowsCsv([[1, '2024-01-01'], [2, '2024-02-01'], [3, '2024-02-01']]));
    const first = await csvRead('p.csv', {}, { cursor: 'v' });
    expect(first.last?.cursor).toEqual({ field: 'v', type: 'timestamp', max: '2024-02-01', keys: ['2', '3'] });
    // Same instant written differently, a new key at the maximum, an old value.
    await appendFile(file, '4,2024-02-01T00:00:00Z\n5,2023-12-31\n2,2024-02-01\n');
    const second = await csvRead('p.csv', { people: first.last }, { cursor: 'v' });
    expect(ids(second)).toEqual([4]);
    expect(second.last?.cursor).toEqual({ field: 'v', type: 'timestamp', max: '2024-02-01', keys: ['2', '3', '4'] });
  });

  it('compares numbers as numbers, and always reads rows without a cursor value', async () => {
    const file = join(dir.path, 'p.jsonl');
    await writeFile(file, '{"id":1,"v":9}\n{"id":2,"v":10}\n');
    const s = stream(jsonlSource, 'people', { path: file }, { cursorField: 'v' });
    const first = await readAll(jsonlSource, { checkpointEvery: 10 }, [s]);
    expect(first.last?.cursor).toEqual({ field: 'v', type: 'number', max: '10', keys: ['2'] });
    await appendFile(file, '{"id":3,"v":9.5}\n{"id":4,"v":11}\n{"id":5}\n');
    const second = await readAll(jsonlSource, { checkpointEvery: 10 }, [s], { people: first.last });
    expect(ids(second)).toEqual([4, 5]);
  });
});

describe('cursor poisoning (issue 8 item 1)', () => {
  const counted = () => {
    const counts: Array<{ name: string; value: number; stream?: string }> = [];
    return { counts, metrics: { count: (name: string, value = 1, tags?: Record<string, string>) => void counts.push({ name, value, stream: tags?.stream }) } };
  };

  it('a garbage or far-future cursor value is ingested and warned about, but never becomes the bound', async () => {
    const file = join(dir.path, 'p.csv');
    await writeFile(file, rowsCsv([[1, '2024-01-01'], [2, 'not a date'], [3, '9024-01-01'], [4, '2024-01-05']]));
    const m = counted();
    const warnings: string[] = [];
    const s = stream(csvSource, 'people', { path: file }, { cursorField: 'v' });
    const first = await readAll(csvSource, { checkpointEvery: 10 }, [s], {}, { warnings, metrics: m.metrics });
    // The data is kept: every row is read.
    expect(ids(first)).toEqual([1, 2, 3, 4]);
    expect(first.last?.cursor).toEqual({ field: 'v', type: 'timestamp', max: '2024-01-05', keys: ['4'] });
    expect(m.counts.filter((c) => c.name === 'cursor_warnings')).toEqual([
      { name: 'cursor_warnings', value: 1, stream: 'people' },
      { name: 'cursor_warnings', value: 1, stream: 'people' },
    ]);
    expect(warnings.join('\n')).toMatch(/p\.csv:3.*"not a date".*not a timestamp/);
    expect(warnings.join('\n')).toMatch(/p\.csv:4.*"9024-01-01".*beyond the horizon/);
    // Later rows are still read.
    await appendFile(file, '5,2024-02-01\n');
    const second = await readAll(csvSource, { checkpointEvery: 10 }, [s], { people: first.last });
    expect(ids(second)).toEqual([2, 3, 5]);
    expect(second.last?.cursor).toEqual({ field: 'v', type: 'timestamp', max: '2024-02-01', keys: ['5'] });
  });

  it('a numeric cursor refuses a non-number and keeps reading', async () => {
    const file = join(dir.path, 'p.jsonl');
    await writeFile(file, '{"id":1,"v":5}\n{"id":2,"v":"zzz"}\n{"id":3,"v":"2024-01-01"}\n{"id":4,"v":7}\n');
    const s = stream(jsonlSource, 'people', { path: file }, { cursorField: 'v' });
    const m = counted();
    const first = await readAll(jsonlSource, { checkpointEvery: 10 }, [s], {}, { metrics: m.metrics });
    expect(ids(first)).toEqual([1, 2, 3, 4]);
    expect(first.last?.cursor).toEqual({ field: 'v', type: 'number', max: '7', keys: ['4'] });
    expect(m.counts.filter((c) => c.name === 'cursor_warnings')).toHaveLength(2);
    await appendFile(file, '{"id":5,"v":8}\n');
    expect(ids(await readAll(jsonlSource, { checkpointEvery: 10 }, [s], { people: first.last }))).toEqual([2, 3, 5]);
  });

  it('the horizon is a stream option, and a declared type wins over the first value', async () => {
    const file = join(dir.path, 'p.csv');
    const soon = new Date(Date.now() + 3 * 3600_000).toISOString();
    await writeFile(file, rowsCsv([[1, '42'], [2, soon], [3, '2024-01-01']]));
    const m = counted();
    const s = stream(csvSource, 'people', { path: file, cursorType: 'timestamp', cursorHorizon: '1h' }, { cursorField: 'v' });
    const r = await readAll(csvSource, { checkpointEvery: 10 }, [s], {}, { metrics: m.metrics });
    expect(ids(r)).toEqual([1, 2, 3]);
    expect(r.last?.cursor).toEqual({ field: 'v', type: 'timestamp', max: '2024-01-01', keys: ['3'] });
    expect(m.counts.filter((c) => c.name === 'cursor_warnings')).toHaveLength(2);
    const none = stream(csvSource, 'people', { path: file, cursorType: 'timestamp', cursorHorizon: 'none' }, { cursorField: 'v' });
    expect((await readAll(csvSource, { checkpointEvery: 10 }, [none])).last?.cursor).toEqual({ field: 'v', type: 'timestamp', max: soon, keys: ['2'] });
  });

  it('a bound poisoned by an earlier version is dropped with a warning: rows are read again, not lost', async () => {
    const file = join(dir.path, 'p.csv');
    await writeFile(file, rowsCsv([[1, '2024-01-01'], [2, '2024-03-01']]));
    const first = await csvRead('p.csv', {}, { cursor: 'v' });
    const poisoned = { ...first.last!, cursor: { field: 'v', max: 'not a date', keys: ['9'] } };
    await appendFile(file, '3,2024-04-01\n');
    const warnings: string[] = [];
    const s = stream(csvSource, 'people', { path: file }, { cursorField: 'v' });
    const r = await readAll(csvSource, { checkpointEvery: 10 }, [s], { people: poisoned }, { warnings });
    expect(ids(r)).toEqual([1, 2, 3]);
    expect(warnings.join('\n')).toMatch(/saved cursor bound "not a date"/);
  });
});
