import type { FileHandle } from 'node:fs/promises';
import type { TextEncoding } from './config.js';

/** Longest raw text kept in an error message: enough to find the row, not a dead letter of megabytes. */
export const RAW_LIMIT = 64 * 1024;

export function clip(raw: string): string {
  return raw.length > RAW_LIMIT ? `${raw.slice(0, RAW_LIMIT)}…` : raw;
}

/**
 * The first `size` bytes of an open file as decoded text chunks, with a leading
 * byte order mark removed. Only `size` bytes are read, so what is read is what
 * was fingerprinted even if a writer appends meanwhile. Memory stays at one chunk.
 * Node may close `handle` when this stream is abandoned after reaching the end
 * (even with autoClose off), so use a handle for one such pass only.
 */
export async function* decodedChunks(handle: FileHandle, size: number, encoding: TextEncoding): AsyncGenerator<string> {
  if (size <= 0) return;
  const stream = handle.createReadStream({ start: 0, end: size - 1, encoding, autoClose: false, highWaterMark: 64 * 1024 });
  let first = true;
  for await (const chunk of stream) {
    let text = String(chunk);
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text) yield text;
  }
}

/** The first bytes of a file as UTF-8 text, BOM removed (for sniffing; a split last character is harmless there). */
export async function headText(handle: FileHandle, size: number, maxBytes = 64 * 1024): Promise<string> {
  const buf = Buffer.alloc(Math.min(size, maxBytes));
  const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
  const text = buf.subarray(0, bytesRead).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export type TextLine = { line: number; text: string } | { line: number; tooLong: true; head: string };

/**
 * Physical lines ("\n" or "\r\n"), numbered from 1. A line longer than
 * `maxChars` is reported once as `tooLong` (with its beginning) and the rest of
 * it is skipped without being held in memory.
 */
export async function* splitLines(chunks: AsyncIterable<string>, maxChars: number): AsyncGenerator<TextLine> {
  for await (const batch of lineBatches(chunks, maxChars)) for (const l of batch) yield l;
}

/** The lines of `splitLines`, one array per chunk (a generator step per line cost more than the split). */
export async function* lineBatches(chunks: AsyncIterable<string>, maxChars: number): AsyncGenerator<TextLine[]> {
  let carry = '';
  let line = 1;
  let skipping = false;
  const finish = (text: string): TextLine =>
    text.length > maxChars ? { line, tooLong: true, head: text.slice(0, RAW_LIMIT) } : { line, text: text.endsWith('\r') ? text.slice(0, -1) : text };
  for await (const chunk of chunks) {
    const out: TextLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl === -1) {
        if (!skipping) {
          carry += chunk.slice(start);
          if (carry.length > maxChars) {
            out.push({ line, tooLong: true, head: carry.slice(0, RAW_LIMIT) });
            skipping = true;
            carry = '';
          }
        }
        break;
      }
      if (skipping) skipping = false;
      else out.push(finish(carry + chunk.slice(start, nl)));
      carry = '';
      line++;
      start = nl + 1;
    }
    if (out.length) yield out;
  }
  if (!skipping && carry.length > 0) yield [finish(carry)];
}
