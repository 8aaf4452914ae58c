import { describe, expect, it } from 'vitest';
import { LineChunks } from './line-chunks.js';

async function* bytes(parts: Buffer[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield p;
}

async function textOf(lc: LineChunks, parts: Buffer[], encoding: 'utf8' | 'latin1' = 'utf8'): Promise<string> {
  let out = '';
  for await (const t of lc.text(bytes(parts), encoding)) out += t;
  return out;
}

/** Cuts `buf` into pieces of `n` bytes (splitting multi-byte characters on purpose). */
const pieces = (buf: Buffer, n: number) => Array.from({ length: Math.ceil(buf.length / n) }, (_, i) => buf.subarray(i * n, i * n + n));

describe('LineChunks', () => {
  const body = Buffer.from('héllo,wörld\r\n€uro\n\nlast', 'utf8');

  it('decodes characters split across chunks and notes the byte offset of every line', async () => {
    const lc = new LineChunks(1, 0);
    expect(await textOf(lc, pieces(body, 3))).toBe('héllo,wörld\r\n€uro\n\nlast');
    // line 2 starts after "héllo,wörld\r\n": 13 characters, 15 bytes.
    expect([1, 2, 3, 4].map((l) => lc.startOf(l))).toEqual([0, 15, 15 + 7, 15 + 8]);
    expect(lc.lastLine).toBe(4);
  });

  it('a read started at a noted offset gives the same text and numbering as the rest of the whole read', async () => {
    const whole = new LineChunks(1, 0);
    await textOf(whole, [body]);
    const at = whole.startOf(3)!;
    const resumed = new LineChunks(3, at);
    expect(await textOf(resumed, pieces(body.subarray(at), 2))).toBe('\nlast');
    expect(resumed.startOf(4)).toBe(whole.startOf(4));
  });

  it('drops a UTF-8 byte order mark at offset 0 only, even when split', async () => {
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a\nb')]);
    expect(await textOf(new LineChunks(1, 0), pieces(bom, 1))).toBe('a\nb');
    expect(await textOf(new LineChunks(5, 100), [Buffer.from('\ufeffa', 'utf8')])).toBe('\ufeffa');
  });

  it('forgets consumed lines so memory stays bounded', async () => {
    const lc = new LineChunks(1, 0);
    await textOf(lc, [Buffer.from('a\nb\nc\nd\n')]);
    lc.forget(4);
    expect([1, 2, 3, 4, 5].map((l) => lc.startOf(l))).toEqual([undefined, undefined, undefined, 6, 8]);
  });
});
