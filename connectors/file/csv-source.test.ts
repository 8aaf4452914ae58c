import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import { csvStreamSchema } from './config.js';
import { checkStreamPaths } from './file-set.js';
import { csvSource, sniffDelimiter } from './csv-source.js';
import { context, fixture, FIXTURES, readAll, stream, tempDir } from './__fixtures__/harness.js';

const csv = (name: string, config: Record<string, unknown>, extra = {}) => stream(csvSource, name, config, { mode: 'full_refresh', ...extra });
const read = (config: Record<string, unknown>, opts: { warnings?: string[] } = {}) =>
  readAll(csvSource, { checkpointEvery: 5000 }, [csv('s', config)], {}, opts);

describe('csv source: dialects', () => {
  it('strips a UTF-8 byte order mark and CRLF line ends', async () => {
    const { records } = await read({ path: fixture('bom.csv') });
    expect(records.map((r) => r.data)).toEqual([
      { id: '1', email: 'ann@example.com', name: 'Ann' },
      { id: '2', email: 'bob@example.com', name: 'Bob' },
    ]);
    expect(Object.keys(records[0].data)[0]).toBe('id');
  });

  it('reads a semicolon delimiter with quoted delimiters inside fields', async () => {
    const { records } = await read({ path: fixture('semicolon.csv'), delimiter: ';' });
    expect(records.map((r) => r.data)).toEqual([
      { id: '1', name: 'Ann', note: 'a;b' },
      { id: '2', name: 'Bob', note: 'plain' },
    ]);
  });

  it('keeps line breaks and doubled quotes inside quoted fields, with the line each record starts on', async () => {
    const { records, errors } = await read({ path: fixture('multiline.csv') });
    expect(errors).toEqual([]);
    expect(records.map((r) => r.data)).toEqual([
      { id: '1', name: 'Ann', note: 'first line\r\nsecond line' },
      { id: '2', name: 'Bob "the builder"', note: '' },
      { id: '3', name: 'Cid', note: 'x,y\nz' },
      { id: '4', name: 'Dee', note: 'last' },
    ]);
    const origin = join('connectors', 'file', '__fixtures__', 'multiline.csv');
    expect(records.map((r) => r.origin)).toEqual([`${origin}:2`, `${origin}:4`, `${origin}:6`, `${origin}:8`]);
  });

  it('decodes latin1', async () => {
    const { records } = await read({ path: fixture('latin1.csv'), encoding: 'latin1' });
    expect(records.map((r) => r.data)).toEqual([
      { id: '1', name: 'José', city: 'Zürich' },
      { id: '2', name: 'Müller', city: 'Besançon' },
    ]);
  });

  it('reads every row as data when the header is given', async () => {
    const { records } = await read({ path: fixture('no-header.csv'), header: ['id', 'name', 'email'] });
    expect(records.map((r) => r.data)).toEqual([
      { id: '1', name: 'Ann', email: 'ann@example.com' },
      { id: '2', name: 'Bob', email: 'bob@example.com' },
    ]);
    expect(records[0].origin).toMatch(/no-header\.csv:1$/);
  });

  it('reads UTF-16LE with its byte order mark', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir.path, 'u16.csv'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id,name\n1,Žofie\n', 'utf16le')]));
      const { records } = await read({ path: join(dir.path, 'u16.csv'), encoding: 'utf16le' });
      expect(records.map((r) => r.data)).toEqual([{ id: '1', name: 'Žofie' }]);
    } finally {
      await dir.remove();
    }
  });

  it('names blank header cells and renames repeated ones, with a warning', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir.path, 'h.csv'), 'id,,email,email,__proto__\n1,x,a@x.com,b@x.com,p\n');
      const warnings: string[] = [];
      const { records } = await read({ path: join(dir.path, 'h.csv') }, { warnings });
      expect(records[0].data).toEqual({ id: '1', column_2: 'x', email: 'a@x.com', email_2: 'b@x.com', ['__proto__']: 'p' });
      expect(Object.getPrototypeOf(records[0].data)).toBe(Object.prototype);
      expect(warnings.join('\n')).toMatch(/"email" appears twice/);
    } finally {
      await dir.remove();
    }
  });

  it('skips empty lines unless told not to', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir.path, 'e.csv'), 'id,name\n\n1,Ann\n\n');
      expect((await read({ path: join(dir.path, 'e.csv') })).records).toHaveLength(1);
      const strict = await read({ path: join(dir.path, 'e.csv'), skipEmptyLines: false });
      expect(strict.records).toHaveLength(1);
      expect(strict.errors.map((e) => e.origin?.replace(/.*:/, ''))).toEqual(['2', '4']);
    } finally {
      await dir.remove();
    }
  });
});

describe('csv source: malformed rows', () => {
  it('reports each bad row with its line and raw text, and keeps reading', async () => {
    const { records, errors } = await read({ path: fixture('malformed.csv') });
    expect(records.map((r) => r.data.id)).toEqual(['1', '3', '4', '7']);
    expect(records.find((r) => r.data.id === '4')?.data.name).toBe('Dee"x');
    expect(errors.map((e) => [e.origin?.replace(/.*:/, ''), e.raw])).toEqual([
      ['3', '2,"Bob,bob@example.com'],
      ['6', '5,"Eve"x,eve@example.com'],
      ['7', '6,Fay'],
    ]);
    expect(errors[0].reason).toMatch(/after a closing quote/);
    expect(errors[2].reason).toBe('expected 3 columns, got 2');
  });

  it('an unclosed quote at the end costs one line, not the rest of the file', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir.path, 'q.csv'), 'id,name\n1,"Ann\n2,Bob\n3,Cid\n');
      const { records, errors } = await read({ path: join(dir.path, 'q.csv') });
      expect(errors.map((e) => [e.reason, e.origin?.replace(/.*:/, '')])).toEqual([['unclosed quote', '2']]);
      expect(records.map((r) => r.data)).toEqual([
        { id: '2', name: 'Bob' },
        { id: '3', name: 'Cid' },
      ]);
    } finally {
      await dir.remove();
    }
  });

  it('accepts short and long rows with relaxColumnCount', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir.path, 'r.csv'), 'id,name,email\n1,Ann\n2,Bob,b@x.com,extra\n');
      const { records, errors } = await read({ path: join(dir.path, 'r.csv'), relaxColumnCount: true });
      expect(errors).toEqual([]);
      expect(records.map((r) => r.data)).toEqual([{ id: '1', name: 'Ann' }, { id: '2', name: 'Bob', email: 'b@x.com' }]);
    } finally {
      await dir.remove();
    }
  });

  it('reports a file whose header cannot be parsed once, and goes on with the next file', async () => {
    const dir = await tempDir();
    try {
      await writeFile(join(dir.path, 'a.csv'), 'id,"name\n1,Ann\n');
      await writeFile(join(dir.path, 'b.csv'), 'id,name\n2,Bob\n');
      const { records, errors } = await read({ path: join(dir.path, '*.csv') });
      expect(errors).toHaveLength(1);
      expect(errors[0].reason).toMatch(/header row is malformed/);
      expect(records.map((r) => r.data)).toEqual([{ id: '2', name: 'Bob' }]);
    } finally {
      await dir.remove();
    }
  });
});

describe('csv source: config and discovery', () => {
  it('refuses a delimiter that contains the quote', () => {
    const r = csvStreamSchema.safeParse({ path: 'x.csv', delimiter: '"' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0].message).toMatch(/quote/);
  });

  it('a missing file or an empty glob is a ConfigError naming the stream and the path', async () => {
    const missing = readAll(csvSource, { checkpointEvery: 10 }, [csv('orders', { path: './nope/orders.csv' })]);
    await expect(missing).rejects.toBeInstanceOf(ConfigError);
    await expect(missing).rejects.toThrow(/nope\/orders\.csv does not exist/);
    const empty = readAll(csvSource, { checkpointEvery: 10 }, [csv('orders', { path: join(FIXTURES, '*.xlsx') })]);
    await expect(empty).rejects.toThrow(/glob .*\*\.xlsx matches no file/);
    const err: unknown = await empty.catch((e: unknown) => e);
    if (!(err instanceof ConfigError)) throw new Error('expected a ConfigError');
    expect(err.describe()).toMatch(/stream orders/);
  });

  it('checkStreamPaths names the first stream whose path matches nothing', async () => {
    expect(await checkStreamPaths(FIXTURES, [{ name: 'a', path: '*.csv' }])).toEqual({ ok: true });
    const res = await checkStreamPaths(FIXTURES, [{ name: 'a', path: '*.csv' }, { name: 'b', path: 'drops/*.csv' }]);
    expect(res).toEqual({ ok: false, message: expect.stringMatching(/stream b: glob drops\/\*\.csv matches no file/) });
  });

  it('a directory as stream path is refused with a hint', async () => {
    await expect(readAll(csvSource, { checkpointEvery: 10 }, [csv('s', { path: FIXTURES })])).rejects.toThrow(/is a directory; use a glob/);
  });

  it('resolves relative stream paths against the connector path', async () => {
    const { records } = await readAll(csvSource, { path: FIXTURES, checkpointEvery: 10 }, [csv('s', { path: 'semicolon.csv', delimiter: ';' })]);
    expect(records).toHaveLength(2);
  });

  it('discover lists one stream per file, fields from the header, delimiter sniffed', async () => {
    const dir = await tempDir();
    try {
      await mkdir(join(dir.path, 'sub'));
      await writeFile(join(dir.path, 'Customers 2024.csv'), '\uFEFFid;email;updated_at\n1;a@x.com;2024-01-01\n');
      await writeFile(join(dir.path, 'sub', 'ignored.csv'), 'x\n');
      await writeFile(join(dir.path, 'notes.md'), '# no\n');
      const streams = await csvSource.discover(context({ path: dir.path, checkpointEvery: 10 }));
      expect(streams).toEqual([
        {
          name: 'Customers_2024',
          fields: { id: { type: ['string'], sourceType: 'csv' }, email: { type: ['string'], sourceType: 'csv' }, updated_at: { type: ['string'], sourceType: 'csv' } },
          primaryKey: ['id'],
          cursorCandidates: ['updated_at'],
          supportedModes: ['full_refresh', 'incremental'],
        },
      ]);
      expect(await csvSource.discover(context({ checkpointEvery: 10 }))).toEqual([]);
    } finally {
      await dir.remove();
    }
  });

  it('sniffs the usual delimiters', () => {
    expect(sniffDelimiter('a;b;c')).toBe(';');
    expect(sniffDelimiter('a\tb\tc')).toBe('\t');
    expect(sniffDelimiter('a|b')).toBe('|');
    expect(sniffDelimiter('single')).toBe(',');
  });
});

describe('csv discover with configured streams', () => {
  it('describes each configured stream from the first file its path matches, under the stream name', async () => {
    const streams = await csvSource.discover(context({ checkpointEvery: 5000 }), [stream(csvSource, 'people', { path: fixture('semicolon.csv'), delimiter: ';' })]);
    expect(streams.map((s) => s.name)).toEqual(['people']);
    expect(Object.keys(streams[0].fields).length).toBeGreaterThan(1);
  });

  it('a configured path that matches nothing is a ConfigError naming the stream', async () => {
    await expect(csvSource.discover(context({ checkpointEvery: 5000 }), [stream(csvSource, 'ghost', { path: join(FIXTURES, 'nope-*.csv') })])).rejects.toMatchObject({ context: { stream: 'ghost' } });
  });
});
