import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonlSource } from './jsonl-source.js';
import { context, fixture, readAll, stream, tempDir } from './__fixtures__/harness.js';

const read = (config: Record<string, unknown>) =>
  readAll(jsonlSource, { checkpointEvery: 5000 }, [stream(jsonlSource, 'p', config, { mode: 'full_refresh' })]);

describe('jsonl source', () => {
  it('keeps JSON types and nesting, strips the BOM and CR, and reports bad lines without stopping', async () => {
    const { records, errors } = await read({ path: fixture('people.jsonl') });
    expect(records.map((r) => r.data)).toEqual([
      { id: 1, email: 'ann@example.com', address: { city: 'Oslo' }, tags: ['a'] },
      { id: 2, email: 'bob@example.com', vip: true },
      { id: 4, email: 'dee@example.com', score: 1.5, note: 'line\u2028sep' },
    ]);
    expect(records.map((r) => r.origin?.replace(/.*:/, ''))).toEqual(['1', '3', '6']);
    expect(errors.map((e) => [e.origin?.replace(/.*:/, ''), e.raw])).toEqual([
      ['4', '{"id": 3, "email": '],
      ['5', '[1, 2, 3]'],
    ]);
    expect(errors[0].reason).toMatch(/^invalid JSON/);
    expect(errors[1].reason).toBe('expected a JSON object, got array');
  });

  it('reports an over-long line once and reads the next one', async () => {
    const dir = await tempDir();
    try {
      const long = JSON.stringify({ id: 1, blob: 'x'.repeat(200_000) });
      await writeFile(join(dir.path, 'l.jsonl'), `${long}\n{"id":2}\n`);
      const { records, errors } = await read({ path: join(dir.path, 'l.jsonl'), maxRecordSize: 1024 });
      expect(records.map((r) => r.data)).toEqual([{ id: 2 }]);
      expect(errors).toHaveLength(1);
      expect(errors[0].reason).toBe('line longer than 1024 characters');
      expect(errors[0].origin).toMatch(/l\.jsonl:1$/);
    } finally {
      await dir.remove();
    }
  });

  it('reports blank lines only when skipEmptyLines is off', async () => {
    const { errors } = await read({ path: fixture('people.jsonl'), skipEmptyLines: false });
    expect(errors.map((e) => [e.reason, e.origin?.replace(/.*:/, '')])[0]).toEqual(['empty line', '2']);
  });

  it('discover samples the first lines for field names and JSON types', async () => {
    const dir = await tempDir();
    try {
      const lines = [{ id: 1, n: 1, when: '2024-01-01', x: null }, { id: 2, n: 2.5, tags: [] }, 'not json'];
      await writeFile(join(dir.path, 'events.ndjson'), lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n'));
      const [s] = await jsonlSource.discover(context({ path: join(dir.path, '*.ndjson'), checkpointEvery: 10 }));
      expect(s.name).toBe('events');
      expect(s.fields).toEqual({
        id: { type: ['integer'] },
        n: { type: ['number'] },
        when: { type: ['string'] },
        x: { type: ['null'] },
        tags: { type: ['array'] },
      });
      expect(s.primaryKey).toEqual(['id']);
    } finally {
      await dir.remove();
    }
  });

  it('check refuses a connector path that matches nothing', async () => {
    const res = await jsonlSource.check(context({ path: '/nonexistent-tributary-dir/*.jsonl', checkpointEvery: 10 }));
    expect(res).toEqual({ ok: false, message: expect.stringMatching(/matches no file/) });
    expect(await jsonlSource.check(context({ checkpointEvery: 10 }))).toEqual({ ok: true });
  });
});
