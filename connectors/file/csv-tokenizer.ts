import { clip } from './text-input.js';

/*
 * A streaming CSV tokenizer (RFC 4180 plus the usual dialects) with one rule
 * for broken input: a malformed record is reported as an error covering its
 * FIRST physical line, and parsing starts afresh on the next line. So an
 * unclosed quote costs one line, not the rest of the file, and a record longer
 * than `maxRecordSize` (usually the same broken quote) never grows memory.
 *
 * csv-parse was the first choice, but its `skip_records_with_error` keeps the
 * parser inside the quoted field after an invalid closing quote and drops the
 * rest of the chunk after CSV_MAX_RECORD_SIZE, so one bad quote ends the file;
 * its maintainers consider resynchronising impossible in general
 * (https://github.com/adaltas/node-csv/issues/214). Restarting at the next
 * physical line is the trade-off this connector makes, and documents.
 */

export interface CsvDialect {
  delimiter: string;
  /** One character, or '' for no quoting at all. */
  quote: string;
  maxRecordSize: number;
}

export type CsvUnit =
  | { kind: 'record'; line: number; fields: string[]; raw: string; blank: boolean }
  | { kind: 'error'; line: number; reason: string; raw: string };

type Parsed =
  | { kind: 'record'; fields: string[]; end: number; newlines: number; blank: boolean }
  | { kind: 'more' }
  | { kind: 'error'; reason: string };

const MORE: Parsed = { kind: 'more' };

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Parses one record of `buf` at `pos`. Scanning positions are cached in `cache`
 * (valid for this `buf`) so a file with no delimiter at all stays linear.
 */
function parseRecord(buf: string, pos: number, eof: boolean, d: CsvDialect, cache: { nl: number; dl: number }): Parsed {
  const fields: string[] = [];
  let i = pos;
  let newlines = 0;
  for (;;) {
    if (d.quote !== '' && buf[i] === d.quote) {
      let value = '';
      let j = i + 1;
      for (;;) {
        const k = buf.indexOf(d.quote, j);
        if (k === -1) return eof ? { kind: 'error', reason: 'unclosed quote' } : MORE;
        const part = buf.slice(j, k);
        value += part;
        newlines += countNewlines(part);
        if (k + 1 >= buf.length && !eof) return MORE;
        if (buf[k + 1] === d.quote) {
          value += d.quote;
          j = k + 2;
          continue;
        }
        i = k + 1;
        break;
      }
      fields.push(value);
      if (!eof && buf.length - i < Math.max(2, d.delimiter.length)) return MORE;
      if (i >= buf.length) return { kind: 'record', fields, end: i, newlines, blank: false };
      if (buf.startsWith(d.delimiter, i)) {
        i += d.delimiter.length;
        continue;
      }
      if (buf[i] === '\n') return { kind: 'record', fields, end: i + 1, newlines: newlines + 1, blank: false };
      if (buf[i] === '\r' && buf[i + 1] === '\n') return { kind: 'record', fields, end: i + 2, newlines: newlines + 1, blank: false };
      if (buf[i] === '\r' && i + 1 >= buf.length) return { kind: 'record', fields, end: i + 1, newlines, blank: false };
      return { kind: 'error', reason: `unexpected ${JSON.stringify(buf[i])} after a closing quote` };
    }
    // Unquoted field: runs to the next delimiter on this line. A quote inside it is an ordinary character.
    if (cache.nl !== -1 && cache.nl < i) cache.nl = buf.indexOf('\n', i);
    if (cache.nl === -1 && !eof) return MORE;
    const lineEnd = cache.nl === -1 ? buf.length : cache.nl;
    if (cache.dl !== -1 && cache.dl < i) cache.dl = buf.indexOf(d.delimiter, i);
    if (cache.dl !== -1 && cache.dl < lineEnd) {
      fields.push(buf.slice(i, cache.dl));
      i = cache.dl + d.delimiter.length;
      continue;
    }
    const last = buf.slice(i, lineEnd);
    const value = last.endsWith('\r') ? last.slice(0, -1) : last;
    fields.push(value);
    const terminated = cache.nl !== -1;
    return {
      kind: 'record',
      fields,
      end: terminated ? lineEnd + 1 : lineEnd,
      newlines: newlines + (terminated ? 1 : 0),
      blank: fields.length === 1 && value === '' && i === pos,
    };
  }
}

function stripEol(s: string): string {
  const t = s.endsWith('\n') ? s.slice(0, -1) : s;
  return t.endsWith('\r') ? t.slice(0, -1) : t;
}

/**
 * Records of a CSV text, each with the physical line it starts on. Blank lines
 * come out as `blank` records (the caller decides whether to skip them).
 * Deterministic: the same text gives the same units whatever the chunking, which
 * is what makes "resume after N units" exact.
 */
export async function* csvUnits(chunks: AsyncIterable<string>, d: CsvDialect): AsyncGenerator<CsvUnit> {
  for await (const batch of csvUnitBatches(chunks, d)) for (const u of batch) yield u;
}

/**
 * The units of `csvUnits`, in the same order, as one array per stretch of input
 * parsed between two reads of `chunks`: a generator step per record cost more
 * than the parsing (a promise and an iterator result each). A batch is handed
 * over before the next chunk is awaited, so a failing read still comes after
 * every unit before it.
 */
export async function* csvUnitBatches(chunks: AsyncIterable<string>, d: CsvDialect): AsyncGenerator<CsvUnit[]> {
  const it = chunks[Symbol.asyncIterator]();
  let buf = '';
  let pos = 0;
  let eof = false;
  let want = 1;
  let line = 1;
  let skipping: { line: number; reason: string; raw: string } | undefined;
  const cache = { nl: -2, dl: -2 };
  const reset = () => {
    cache.nl = -2;
    cache.dl = -2;
  };
  let out: CsvUnit[] = [];
  try {
    for (;;) {
      if (!eof && buf.length - pos < want) {
        if (out.length) {
          yield out;
          out = [];
        }
        const r = await it.next();
        if (r.done) eof = true;
        else {
          buf = buf.slice(pos) + r.value;
          pos = 0;
          reset();
        }
        continue;
      }
      if (skipping) {
        const nl = buf.indexOf('\n', pos);
        if (nl === -1 && !eof) {
          buf = '';
          pos = 0;
          want = 1;
          reset();
          continue;
        }
        out.push({ kind: 'error', line: skipping.line, reason: skipping.reason, raw: clip(skipping.raw) });
        line = skipping.line + 1;
        skipping = undefined;
        pos = nl === -1 ? buf.length : nl + 1;
        continue;
      }
      if (pos >= buf.length) {
        if (eof) break;
        want = 1;
        continue;
      }
      let r = parseRecord(buf, pos, eof, d, cache);
      const span = r.kind === 'record' ? r.end - pos : buf.length - pos;
      if (r.kind !== 'error' && span > d.maxRecordSize) {
        r = { kind: 'error', reason: `record longer than ${d.maxRecordSize} characters (an unclosed quote?)` };
      }
      if (r.kind === 'more') {
        want = Math.max(want, (buf.length - pos) * 2, buf.length - pos + 1);
        continue;
      }
      want = 1;
      if (r.kind === 'record') {
        out.push({ kind: 'record', line, fields: r.fields, raw: clip(stripEol(buf.slice(pos, r.end))), blank: r.blank });
        line += r.newlines;
        pos = r.end;
        continue;
      }
      // Malformed: report the record's first physical line and restart on the next one.
      const nl = buf.indexOf('\n', pos);
      if (nl === -1 && !eof) {
        skipping = { line, reason: r.reason, raw: buf.slice(pos, pos + 4096) };
        pos = buf.length;
        continue;
      }
      const end = nl === -1 ? buf.length : nl;
      out.push({ kind: 'error', line, reason: r.reason, raw: clip(stripEol(buf.slice(pos, end))) });
      line++;
      pos = nl === -1 ? buf.length : nl + 1;
      reset();
    }
    if (out.length) yield out;
  } finally {
    await it.return?.();
  }
}
