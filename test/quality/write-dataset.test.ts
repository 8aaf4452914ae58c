import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { generatePeople, toCsv, writeDataset, type Cell } from '../../bench/quality/generate.js';
import { run } from '../../bench/quality/write-sample.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-quality-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** What a CSV reader gives back for a cell: null is an empty field, numbers are text. */
function asCsvText(row: Record<string, Cell>): Record<string, string> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function readCsv(text: string): Array<Record<string, string>> {
  return parse(text, { columns: true, skip_empty_lines: true });
}

describe('toCsv', () => {
  it('quotes commas, quotes, newlines and edge spaces, and nothing else', () => {
    const csv = toCsv([{ a: 'Smith, John', b: 'say "hi"', c: 'two\nlines', d: '  x@y.com ', e: 'plain', f: null }], ['a', 'b', 'c', 'd', 'e', 'f']);
    expect(csv).toBe('a,b,c,d,e,f\r\n"Smith, John","say ""hi""","two\nlines","  x@y.com ",plain,\r\n');
    expect(readCsv(csv)).toEqual([{ a: 'Smith, John', b: 'say "hi"', c: 'two\nlines', d: '  x@y.com ', e: 'plain', f: '' }]);
  });
});

describe('writeDataset', () => {
  it('writes files a CSV reader reads back to the same rows', async () => {
    const d = generatePeople({ people: 400, seed: 9 });
    const dir = await tempDir();
    const files = await writeDataset(dir, d);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['crm.csv', 'orders.csv', 'support.csv', 'newsletter.jsonl', 'truth.csv']);

    expect(readCsv(await readFile(join(dir, 'crm.csv'), 'utf8'))).toEqual(d.rows.crm.map(asCsvText));
    expect(readCsv(await readFile(join(dir, 'orders.csv'), 'utf8'))).toEqual(d.rows.orders.map(asCsvText));
    const support = await readFile(join(dir, 'support.csv'), 'utf8');
    expect(readCsv(support)).toEqual(d.rows.support.map(asCsvText));
    // The "Last, First" names only survive because they are quoted.
    expect(d.rows.support.some((r) => r.name?.includes(','))).toBe(true);

    const jsonl = (await readFile(join(dir, 'newsletter.jsonl'), 'utf8')).trimEnd().split('\n');
    expect(jsonl).toHaveLength(d.rows.newsletter.length);
    const parsed: unknown[] = jsonl.map((line) => JSON.parse(line));
    const expected = d.rows.newsletter.map((r, i) => ({ id: `n${i}`, ...Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)) }));
    expect(parsed).toEqual(expected);

    const truth = readCsv(await readFile(join(dir, 'truth.csv'), 'utf8'));
    expect(truth.map((t) => [t.record_key, t.person_id])).toEqual([...d.truth]);
  });
});

describe('write-sample run', () => {
  it('writes a dataset of the requested size', async () => {
    const dir = join(await tempDir(), 'nested', 'sample');
    const result = await run(['--out', dir, '--people', '40', '--seed', '7']);
    expect(result.dir).toBe(dir);
    expect(result.stats.people).toBe(40);
    expect(result.files).toHaveLength(5);
    const truth = readCsv(await readFile(join(dir, 'truth.csv'), 'utf8'));
    expect(truth).toHaveLength(result.stats.records);
  });

  it('defaults to 300 people with seed 42', async () => {
    const result = await run(['--out', await tempDir()]);
    expect(result.stats).toEqual(generatePeople({ people: 300, seed: 42 }).stats);
  });

  it('rejects missing or unknown arguments with a clear message', async () => {
    await expect(run([])).rejects.toThrow(/--out DIR is required/);
    await expect(run(['--out', 'x', '--bogus', '1'])).rejects.toThrow(/unknown argument --bogus/);
    await expect(run(['--out', 'x', '--people', 'many'])).rejects.toThrow(/--people needs a non-negative integer/);
  });
});
