import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRng, type Rng } from '../../bench/quality/prng.js';
import type { ConfiguredStream, ConnectorContext, SourceConnector, SourceMessage, StreamState } from '../../core/plugin/types.js';
import type { FileSourceConfig } from './config.js';
import { csvSource } from './csv-source.js';
import { csvUnits } from './csv-tokenizer.js';
import { jsonlSource } from './jsonl-source.js';
import { splitLines } from './text-input.js';
import { csvTextRows, jsonlTextRows, type TextRowsOptions } from './text-rows.js';
import { csvSource as refCsvSource } from './__reference__/csv-source.js';
import { csvUnits as refCsvUnits } from './__reference__/csv-tokenizer.js';
import { jsonlSource as refJsonlSource } from './__reference__/jsonl-source.js';
import { splitLines as refSplitLines } from './__reference__/text-input.js';
import { csvTextRows as refCsvTextRows, jsonlTextRows as refJsonlTextRows } from './__reference__/text-rows.js';
import { stream, tempDir, type TempDir } from './__fixtures__/harness.js';

// Issue 13 made the read path hand rows over in batches. What comes out must be what the old
// code (the __reference__ copies) gave: the same units, rows, messages and states, and every
// warning and metric at the same place among them. The inputs are seeded, so a failing seed replays.

type Event = { at: 'msg'; value: unknown } | { at: 'log'; level: string; message: string } | { at: 'metric'; name: string; value: number; tags?: Record<string, string> };

const FIELDS = ['a', '', ' ', 'x y', 'é€', '1', '2.5', '0042', 'a,b', 'say "hi"', 'two\nlines', 'crlf\r\nend', '"', ',', ';', 'tab\t', 'ab\u0000c'];
const CURSORS = ['1', '2', '10', '2024-01-02', '2024-01-02T10:00:00Z', '', 'not a date', '9999-01-01', '3.5', '-1'];
const NAMES = ['id', 'v', 'name', 'email', '', '__proto__', 'constructor', 'id', 'toString', '0'];

function quoteField(rng: Rng, v: string, delim: string): string {
  const must = v.includes('"') || v.includes(delim) || v.includes('\n') || v.includes('\r');
  if (must || rng.chance(0.2)) return `"${v.replaceAll('"', '""')}"`;
  return v;
}

/** A CSV text with the things that go wrong in real exports: quotes, CRLF, blank lines, broken rows, ragged rows. */
function csvText(rng: Rng, rows: number, opts: { delim: string; header: boolean }): string {
  const eol = rng.pick(['\n', '\r\n', 'mixed']);
  const nl = () => (eol === 'mixed' ? rng.pick(['\n', '\r\n']) : eol);
  const cols = rng.int(1, 5);
  const out: string[] = rng.chance(0.2) ? ['\ufeff'] : [];
  if (opts.header) {
    const names = Array.from({ length: cols }, (_, i) => (i === 0 ? 'id' : i === 1 ? 'v' : rng.pick(NAMES)));
    out.push(names.map((n) => quoteField(rng, n, opts.delim)).join(opts.delim), nl());
  }
  for (let r = 0; r < rows; r++) {
    const x = rng.next();
    if (x < 0.05) out.push(nl());
    else if (x < 0.08) out.push(`"${r},unclosed`, nl());
    else if (x < 0.1) out.push(`"${r}"junk${opts.delim}1`, nl());
    else if (x < 0.13) out.push(Array.from({ length: cols + rng.int(1, 2) }, () => rng.pick(FIELDS)).map((f) => quoteField(rng, f, opts.delim)).join(opts.delim), nl());
    else {
      const fields = [String(rng.int(1, Math.max(2, rows >> 1))), rng.pick(CURSORS), ...Array.from({ length: Math.max(0, cols - 2) }, () => rng.pick(FIELDS))].slice(0, cols);
      if (rng.chance(0.05)) fields[fields.length - 1] = 'x'.repeat(rng.int(100, 3000));
      out.push(fields.map((f) => quoteField(rng, f, opts.delim)).join(opts.delim), nl());
    }
  }
  if (rng.chance(0.3)) out.pop();
  return out.join('');
}

function jsonlText(rng: Rng, rows: number): string {
  const out: string[] = rng.chance(0.2) ? ['\ufeff'] : [];
  for (let r = 0; r < rows; r++) {
    const x = rng.next();
    const eol = rng.pick(['\n', '\r\n']);
    if (x < 0.05) out.push(rng.pick(['', '   ', '\t']), eol);
    else if (x < 0.08) out.push('{"id": 1,', eol);
    else if (x < 0.1) out.push(rng.pick(['[1,2]', '"text"', '42', 'null']), eol);
    else {
      const o: Record<string, unknown> = { id: rng.chance(0.8) ? String(rng.int(1, Math.max(2, rows >> 1))) : rng.int(1, 9), v: rng.pick(CURSORS) };
      if (rng.chance(0.3)) o.name = rng.pick(FIELDS);
      if (rng.chance(0.05)) o.nested = { deep: [1, { x: rng.pick(FIELDS) }] };
      if (rng.chance(0.05)) o.big = 'y'.repeat(rng.int(100, 3000));
      out.push(rng.chance(0.05) ? `{"__proto__": ${JSON.stringify(o)}, "id": "p${r}"}` : JSON.stringify(o), eol);
    }
  }
  if (rng.chance(0.3)) out.pop();
  return out.join('');
}

async function* chunked(text: string, rng: Rng, returned: string[]): AsyncGenerator<string> {
  try {
    for (let i = 0; i < text.length; ) {
      const n = rng.chance(0.1) ? rng.int(200, 5000) : rng.int(1, 40);
      yield text.slice(i, i + n);
      i += n;
    }
  } finally {
    returned.push('return');
  }
}

/** Everything an iterable yields, stopping early after `stop` items when given, with what its input saw. */
async function drain<T>(make: (chunks: AsyncIterable<string>) => AsyncIterable<T>, text: string, seed: number, stop?: number): Promise<unknown[]> {
  const returned: string[] = [];
  const out: unknown[] = [];
  for await (const x of make(chunked(text, createRng(seed), returned))) {
    out.push(x);
    if (stop !== undefined && out.length >= stop) break;
  }
  return [out, returned];
}

function rowOptions(rng: Rng, log: Event[], delim: string, header: boolean): TextRowsOptions {
  const logger = {
    debug: () => undefined,
    info: (m: string) => log.push({ at: 'log', level: 'info', message: m }),
    warn: (m: string) => log.push({ at: 'log', level: 'warn', message: m }),
    error: (m: string) => log.push({ at: 'log', level: 'error', message: m }),
  };
  return {
    delimiter: delim,
    quote: rng.chance(0.9) ? '"' : '',
    maxRecordSize: rng.pick([64, 1000, 1 << 20]),
    header: header ? true : rng.pick([['id', 'v', 'w'], ['id', '__proto__', 'id', 'x', 'y']]),
    skipEmptyLines: rng.chance(0.5),
    relaxColumnCount: rng.chance(0.3),
    onColumns: (c) => log.push({ at: 'log', level: 'columns', message: JSON.stringify(c) }),
    logger,
    display: 'f.csv',
  };
}

/** Own properties with their order and prototype, which deep equality alone does not compare. */
function shapeOf(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(shapeOf);
  if (x === null || typeof x !== 'object') return x;
  const own = Reflect.ownKeys(x).map((k) => [String(k), Object.getOwnPropertyDescriptor(x, k)?.enumerable, shapeOf((x as Record<PropertyKey, unknown>)[k])]);
  return { proto: Object.getPrototypeOf(x) === Object.prototype ? 'Object' : String(Object.getPrototypeOf(x)), own };
}

const SEEDS = Array.from({ length: 150 }, (_, i) => 1000 + i);

describe('read path: batched layers against the reference copies, seeded', () => {
  it('csvUnits and csvTextRows give the same units and rows for any chunking, also when stopped early', async () => {
    for (const seed of SEEDS) {
      const rng = createRng(seed);
      const delim = rng.pick([',', ';', '\t', '::']);
      const header = rng.chance(0.7);
      const text = csvText(rng, rng.int(0, 60), { delim, header });
      const dialect = { delimiter: delim, quote: rng.chance(0.9) ? '"' : '', maxRecordSize: rng.pick([32, 500, 1 << 20]) };
      const stop = rng.chance(0.3) ? rng.int(1, 20) : undefined;
      const optSeed = rng.int(0, 1e9);
      expect(await drain((c) => csvUnits(c, dialect), text, seed, stop), `seed ${seed}`).toEqual(await drain((c) => refCsvUnits(c, dialect), text, seed, stop));
      const newLog: Event[] = [];
      const oldLog: Event[] = [];
      const a = await drain((c) => csvTextRows(c, rowOptions(createRng(optSeed), newLog, delim, header)), text, seed, stop);
      const b = await drain((c) => refCsvTextRows(c, rowOptions(createRng(optSeed), oldLog, delim, header)), text, seed, stop);
      expect(shapeOf(a), `seed ${seed}`).toEqual(shapeOf(b));
      expect(newLog, `seed ${seed}`).toEqual(oldLog);
    }
  });

  it('splitLines and jsonlTextRows give the same lines and rows for any chunking', async () => {
    for (const seed of SEEDS) {
      const rng = createRng(seed);
      const text = jsonlText(rng, rng.int(0, 60));
      const max = rng.pick([16, 300, 1 << 20]);
      const o = { maxRecordSize: max, skipEmptyLines: rng.chance(0.5) };
      const stop = rng.chance(0.3) ? rng.int(1, 20) : undefined;
      expect(await drain((c) => splitLines(c, max), text, seed, stop), `seed ${seed}`).toEqual(await drain((c) => refSplitLines(c, max), text, seed, stop));
      const a = await drain((c) => jsonlTextRows(c, o), text, seed, stop);
      const b = await drain((c) => refJsonlTextRows(c, o), text, seed, stop);
      expect(shapeOf(a), `seed ${seed}`).toEqual(shapeOf(b));
    }
  });
});

describe('read path: the csv and jsonl sources against the reference copies, seeded', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await tempDir('tributary-read-diff-');
    // The cursor horizon is read from the clock: both reads must see the same time.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-12-06T12:00:00Z') });
  });
  afterAll(async () => {
    vi.useRealTimers();
    await dir.remove();
  });

  /** One read of a source, with its messages, log lines and metrics in the order they happened. */
  async function run<S>(source: SourceConnector<FileSourceConfig, S>, streams: ConfiguredStream<S>[], state: Record<string, StreamState | undefined>, every: number, stopAfter?: number) {
    const events: Event[] = [];
    const logger = {
      debug: (m: string) => events.push({ at: 'log', level: 'debug', message: m }),
      info: (m: string) => events.push({ at: 'log', level: 'info', message: m }),
      warn: (m: string) => events.push({ at: 'log', level: 'warn', message: m }),
      error: (m: string) => events.push({ at: 'log', level: 'error', message: m }),
    };
    const ctx: ConnectorContext<FileSourceConfig> = {
      name: 'diff',
      config: { path: dir.path, checkpointEvery: every },
      logger,
      metrics: { count: (name, value = 1, tags) => events.push({ at: 'metric', name, value, tags }) },
      signal: new AbortController().signal,
    };
    const messages: SourceMessage[] = [];
    try {
      for await (const m of source.read(ctx, streams, state)) {
        messages.push(m);
        events.push({ at: 'msg', value: shapeOf(m) });
        if (stopAfter !== undefined && messages.length >= stopAfter) break;
      }
    } catch (err) {
      events.push({ at: 'log', level: 'thrown', message: String(err) });
    }
    const last = [...messages].reverse().find((m) => m.type === 'state');
    return { events, last: last?.type === 'state' ? last.state : undefined };
  }

  it('give the same messages, states, warnings and metrics, also resumed from a state part-way', async () => {
    for (const seed of SEEDS) {
      const rng = createRng(seed);
      const jsonl = rng.chance(0.35);
      const sub = join(dir.path, `s${seed}`);
      await mkdir(sub);
      const files = rng.int(1, 3);
      // A few large files put the 64 KiB read chunks' boundaries inside quoted fields and lines.
      const rows = rng.chance(0.15) ? rng.int(2000, 6000) : rng.int(0, 80);
      const delim = rng.pick([',', ';']);
      for (let f = 0; f < files; f++) {
        await writeFile(join(sub, `p${f}.${jsonl ? 'jsonl' : 'csv'}`), jsonl ? jsonlText(rng, rows) : csvText(rng, rows, { delim, header: true }));
      }
      const cursor = rng.chance(0.5) ? 'v' : undefined;
      const config: Record<string, unknown> = { path: join(sub, jsonl ? '*.jsonl' : '*.csv'), skipEmptyLines: rng.chance(0.5) };
      if (!jsonl) Object.assign(config, { delimiter: delim, relaxColumnCount: rng.chance(0.3) });
      if (cursor) config.cursorType = rng.pick(['auto', 'number', 'timestamp', 'string']);
      const mode = rng.chance(0.8) ? 'incremental' : 'full_refresh';
      const every = rng.pick([1, 2, 3, 7, 5000]);
      const stop = rng.chance(0.6) ? rng.int(1, 40) : undefined;
      const pair = jsonl
        ? ([jsonlSource, refJsonlSource] as const).map((s) => ({ s, st: [stream(s, 'people', config, { cursorField: cursor, mode })] }))
        : ([csvSource, refCsvSource] as const).map((s) => ({ s, st: [stream(s, 'people', config, { cursorField: cursor, mode })] }));
      const [now, ref] = pair as Array<{ s: SourceConnector<FileSourceConfig, unknown>; st: ConfiguredStream<unknown>[] }>;
      const a = await run(now.s, now.st, {}, every, stop);
      const b = await run(ref.s, ref.st, {}, every, stop);
      expect(a.events, `seed ${seed}`).toEqual(b.events);
      // Resumed from where the first read stopped: the rows it skips and the cursor it keeps must agree too.
      const resumed = { people: b.last };
      expect((await run(now.s, now.st, resumed, every)).events, `seed ${seed} resumed`).toEqual((await run(ref.s, ref.st, resumed, every)).events);
    }
  }, 120_000);
});
