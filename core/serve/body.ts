import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';

export type BodyResult = { ok: true; body: Buffer } | { ok: false; status: 400 | 413 | 415; error: string };

/**
 * Read a request body, enforcing `limit` while reading: a Content-Length over
 * it is refused before any byte is read, a stream that grows past it is cut.
 * `Content-Encoding: gzip` is inflated with the same limit on the output, so a
 * gzip bomb stops at `limit` bytes instead of filling memory.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return { ok: false, status: 413, error: `the body may be at most ${limit} bytes` };
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase().trim();
  if (encoding !== 'identity' && encoding !== 'gzip') return { ok: false, status: 415, error: `Content-Encoding ${encoding} is not supported (gzip or none)` };
  const raw = await collect(req, limit);
  if (!raw) return { ok: false, status: 413, error: `the body may be at most ${limit} bytes` };
  if (encoding === 'identity') return { ok: true, body: raw };
  return new Promise((resolve) => {
    gunzip(raw, { maxOutputLength: limit }, (err, out) => {
      if (!err) resolve({ ok: true, body: out });
      else if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        resolve({ ok: false, status: 413, error: `the body may be at most ${limit} bytes once inflated` });
      } else resolve({ ok: false, status: 400, error: 'the body is not valid gzip' });
    });
  });
}

/** The body, or undefined once it passes `limit` (the rest is not kept). */
function collect(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        // Stop reading: the reply is 413 and the connection is closed after it.
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks, size));
    });
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('client aborted')));
  });
}
