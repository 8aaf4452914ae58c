import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { boot, type Booted } from '../container.js';
import { captureLogger } from '../../test/kit/context.js';
import { compareCursorValues, ReadKeys } from './read-keys.js';

/** Issue 8 items 1 and 3 seen from the engine: duplicates and cursor warnings are counted, and the right version wins. */
const opened: Booted[] = [];
const dirs: string[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

function setup(csv: string, opts: { cursor?: string; batchSize: number; checkpointEvery: number }) {
  const dir = mkdtempSync(join(tmpdir(), `trib-read-summary-${process.pid}-`));
  dirs.push(dir);
  writeFileSync(join(dir, 'people.csv'), csv);
  const cfg = {
    store: { sqlite: join(dir, 'store.db') },
    sources: [
      {
        name: 'drop',
        connector: 'csv',
        batchSize: opts.batchSize,
        config: { path: dir, checkpointEvery: opts.checkpointEvery },
        streams: [
          {
            name: 'people',
            primaryKey: 'id',
            ...(opts.cursor ? { cursor: opts.cursor } : {}),
            config: { path: 'people.csv' },
            mapping: { identifiers: { email: 'email' }, traits: { firstName: 'first' } },
          },
        ],
      },
    ],
  };
  const file = join(dir, 'tributary.yaml');
  writeFileSync(file, stringify(cfg));
  return file;
}

async function run(file: string) {
  const b = await boot({ configFile: file, logger: captureLogger() });
  opened.push(b);
  const out = await b.engine.runSync('drop');
  expect(out.ok).toBe(true);
  const first = async (id: string) => (await b.store.existingRecords([`drop/people/${id}`])).get(`drop/people/${id}`)?.traits.firstName;
  return { out, stats: out.summary!.streams.people, first };
}

const csv = (rows: string[]) => `id,email,first,updated_at\n${rows.join('\n')}\n`;

describe('duplicate primary keys in one read', () => {
  it('are counted, and the version with the highest cursor wins even when it came in an earlier batch', async () => {
    const file = setup(
      csv(['1,a@x.com,Newest,2024-03-01', '2,b@x.com,Bob,2024-01-02', '3,c@x.com,Cy,2024-01-03', '1,a@x.com,Stale,2024-01-01', '2,b@x.com,Bobby,2024-01-02']),
      { cursor: 'updated_at', batchSize: 1, checkpointEvery: 1 },
    );
    const { stats, first } = await run(file);
    expect(stats).toEqual(expect.objectContaining({ read: 5, written: 3, duplicates: 2, deadLettered: 0 }));
    expect(await first('1')).toBe('Newest');
    // Same cursor value: the later row wins.
    expect(await first('2')).toBe('Bobby');
  });

  it('within one batch too, and without a cursor the last row wins', async () => {
    const file = setup(csv(['1,a@x.com,Newest,2024-03-01', '1,a@x.com,Stale,2024-01-01']), { cursor: 'updated_at', batchSize: 100, checkpointEvery: 100 });
    const r = await run(file);
    expect(r.stats).toEqual(expect.objectContaining({ read: 2, written: 1, duplicates: 1 }));
    expect(await r.first('1')).toBe('Newest');

    const plain = setup(csv(['1,a@x.com,First,2024-03-01', '2,b@x.com,Bob,', '1,a@x.com,Last,2024-01-01']), { batchSize: 1, checkpointEvery: 1 });
    const p = await run(plain);
    expect(p.stats).toEqual(expect.objectContaining({ read: 3, written: 2, duplicates: 1 }));
    expect(await p.first('1')).toBe('Last');
  });
});

describe('cursor warnings in the run summary', () => {
  it('counts values the state ignored, per stream', async () => {
    const file = setup(csv(['1,a@x.com,A,2024-01-01', '2,b@x.com,B,not a date', '3,c@x.com,C,9024-01-01']), { cursor: 'updated_at', batchSize: 100, checkpointEvery: 100 });
    const { stats } = await run(file);
    expect(stats).toEqual(expect.objectContaining({ read: 3, written: 3, cursorWarnings: 2, duplicates: 0 }));
  });
});

describe('ReadKeys', () => {
  it('orders numbers, numeric text, dates and ISO text by value; past the cap it forgets rather than guesses', () => {
    expect(compareCursorValues('10', '9')).toBe(1);
    expect(compareCursorValues(new Date('2024-01-02'), '2024-01-01T23:00:00Z')).toBe(1);
    expect(compareCursorValues('2024-01-01 10:00:00', '2024-01-01T09:00:00')).toBe(1);
    expect(compareCursorValues('b', 'a')).toBe(1);
    expect(compareCursorValues(undefined, 5)).toBe(0);
    const keys = new ReadKeys(2);
    expect([keys.see('a', 5), keys.see('b', 1), keys.see('c', 1), keys.see('a', 4), keys.see('a', 5), keys.see('c', 0)]).toEqual([
      'new',
      'new',
      'new',
      'older',
      'replaces',
      'new',
    ]);
  });
});
