import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvUnits, type CsvDialect, type CsvUnit } from './csv-tokenizer.js';
import { csvField } from './profile-rows.js';

const dialect = (over: Partial<CsvDialect> = {}): CsvDialect => ({ delimiter: ',', quote: '"', maxRecordSize: 1 << 20, ...over });

async function* chunked(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function units(text: string, d: CsvDialect = dialect(), size = text.length || 1): Promise<CsvUnit[]> {
  const out: CsvUnit[] = [];
  for await (const u of csvUnits(chunked(text, size), d)) out.push(u);
  return out;
}

/** A small deterministic generator, so a failing case can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const NASTY = [
  'a,b\n1,2\n',
  'a,b\r\n"x\r\ny","z""q"\r\n',
  '"unclosed,1\n2,3\n',
  'a,"b"c,d\n1,2,3\n',
  '\n\n"",x\n,\n',
  'a||b||"c||d"\nx||"y"||z',
  'no newline at end',
  '"quoted at end"',
  'a,b\r\n\r\n1,2\r',
];

describe('csv tokenizer', () => {
  it.each(NASTY)('gives the same units whatever the chunking: %j', async (text) => {
    const d = text.includes('||') ? dialect({ delimiter: '||' }) : dialect();
    const whole = await units(text, d);
    for (const size of [1, 2, 3, 7]) expect(await units(text, d, size)).toEqual(whole);
  });

  it('agrees with csv-parse on valid CSV', async () => {
    const text = 'id,name,note\n1,"Ann, Jr.","said ""hi""\nthen left"\n2,,""\n3,Bob ,x\n4,"",\n';
    const expected = parse(text, { relax_column_count: true }) as string[][];
    expect((await units(text)).map((u) => (u.kind === 'record' ? u.fields : u))).toEqual(expected);
  });

  it('round-trips random fields through csvField at any chunk size', async () => {
    const rnd = prng(42);
    const alphabet = ['a', 'b', ',', '"', '\n', '\r\n', ' ', 'é', '😀', ';'];
    const rows: string[][] = [];
    for (let r = 0; r < 200; r++) {
      const n = 1 + Math.floor(rnd() * 5);
      rows.push(Array.from({ length: n }, () => Array.from({ length: Math.floor(rnd() * 6) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('')));
    }
    // A lone empty field is a blank line; give such rows a second field.
    const safe = rows.map((f) => (f.length === 1 && f[0] === '' ? ['', ''] : f));
    const text = safe.map((f) => f.map(csvField).join(',')).join('\n') + '\n';
    for (const size of [1, 5, 64, text.length]) {
      const got = await units(text, dialect(), size);
      expect(got.map((u) => (u.kind === 'record' ? u.fields : u.reason))).toEqual(safe);
    }
  });

  it('numbers records by the line they start on', async () => {
    const got = await units('h\n"a\nb"\n\nc\n');
    expect(got.map((u) => [u.line, u.kind === 'record' && u.blank])).toEqual([
      [1, false],
      [2, false],
      [4, true],
      [5, false],
    ]);
  });

  it('reports a malformed record as its first line and restarts on the next', async () => {
    const got = await units('1,"a\n2,b\n3,"c"x\n4,d\n');
    expect(got.map((u) => (u.kind === 'record' ? u.fields.join('|') : `ERR@${u.line}:${u.raw}`))).toEqual([
      'ERR@1:1,"a',
      '2|b',
      'ERR@3:3,"c"x',
      '4|d',
    ]);
  });

  it('bounds a runaway quoted field by maxRecordSize and recovers the lines after it', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},row`).join('\n');
    const got = await units(`x,"never closed\n${rows}\n`, dialect({ maxRecordSize: 4096 }), 1000);
    expect(got[0]).toEqual({ kind: 'error', line: 1, reason: expect.stringMatching(/longer than 4096/), raw: 'x,"never closed' });
    expect(got.slice(1).every((u) => u.kind === 'record')).toBe(true);
    expect(got).toHaveLength(5001);
    expect(got[5000]).toMatchObject({ line: 5001, fields: ['4999', 'row'] });
  });

  it('skips an over-long line without holding it and reads the next one', async () => {
    const got = await units(`${'z'.repeat(50_000)}\nok,1\n`, dialect({ maxRecordSize: 1024 }), 4096);
    expect(got.map((u) => [u.kind, u.line])).toEqual([
      ['error', 1],
      ['record', 2],
    ]);
    expect((got[0] as { raw: string }).raw.length).toBeLessThanOrEqual(4096);
  });

  it('treats quotes as ordinary characters when quoting is off, and a quote inside an unquoted field as text', async () => {
    expect((await units('a,"b,c\n', dialect({ quote: '' })))[0]).toMatchObject({ fields: ['a', '"b', 'c'] });
    expect((await units('5\'11",x\n'))[0]).toMatchObject({ fields: ['5\'11"', 'x'] });
  });
});
