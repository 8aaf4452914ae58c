import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A remote file's bytes downloaded to a private temporary folder. */
export interface Spooled {
  /** The temporary file. */
  path: string;
  /** Bytes written (what the server sent). */
  bytes: number;
  open(): Readable;
  /** Removes the temporary folder; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Downloads `bytes` to `<os tmp>/tributary-spool-XXXX/data` (a folder of our
 * own, mode 0700 by mkdtemp, so another user cannot read a partner's file).
 * A failed download removes what was written and rethrows the stream's error,
 * so the caller classifies it (dropped link, vanished file) as for a socket read.
 */
export async function spool(bytes: Readable): Promise<Spooled> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-spool-'));
  const path = join(dir, 'data');
  const remove = () => rm(dir, { recursive: true, force: true });
  const out = createWriteStream(path, { mode: 0o600 });
  try {
    await pipeline(bytes, out);
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, bytes: out.bytesWritten, open: () => createReadStream(path, { highWaterMark: 256 * 1024 }), remove };
}
