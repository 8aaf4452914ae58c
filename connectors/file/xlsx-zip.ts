import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

/**
 * The ZIP container of an XLSX workbook, read through its central directory
 * (yauzl), so every part is found by name whatever order the writer stored
 * the parts in. exceljs's streaming reader walks the local headers in one pass
 * instead and, on Node 20, intermittently loses the workbook part when it is
 * stored last (exceljs issue #3064): the sheet was then skipped as unreadable.
 *
 * A ZIP lists its parts at its end, so a workbook is read from a random-access
 * file: the local file as it is, or a byte stream (a download) copied to a
 * temporary file first, which is deleted when the workbook is closed.
 */
/** `tempDir`: where a stream's temporary copy goes (default the system's temporary folder). */
export type WorkbookInput = { handle: FileHandle; size: number } | { stream: Readable; tempDir?: string };

/** A workbook's ZIP opened for reading parts by name. */
export interface WorkbookZip {
  /** Part names (`xl/workbook.xml`), as stored. */
  has(name: string): boolean;
  /** A part's inflated bytes as a stream; undefined when the ZIP has no such part. */
  part(name: string): Promise<Readable | undefined>;
  /** Closes the ZIP and deletes a temporary copy. Safe to call twice. */
  close(): Promise<void>;
}

/** Bytes read from the file at a time. */
const CHUNK = 256 * 1024;

/** Reads a byte range of an open file without closing it (the caller owns the handle). */
class HandleReader extends yauzl.RandomAccessReader {
  constructor(private readonly handle: FileHandle) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    // handle.read, not handle.createReadStream: such a stream closes the handle when it is destroyed, even with autoClose off.
    const handle = this.handle;
    return Readable.from(
      (async function* () {
        for (let at = start; at < end; ) {
          const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(Math.min(CHUNK, end - at)), 0, Math.min(CHUNK, end - at), at);
          if (bytesRead === 0) throw new Error(`unexpected end of file at byte ${at} (expected ${end})`);
          at += bytesRead;
          yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
        }
      })(),
      { objectMode: false },
    );
  }
}

const fromReader = (reader: yauzl.RandomAccessReader, size: number) =>
  new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromRandomAccessReader(reader, size, { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true }, (err, zip) =>
      err ? reject(err) : resolve(zip),
    ),
  );

/** Every entry of the central directory, by name (the directory is small: one line per part). */
function entriesOf(zip: yauzl.ZipFile): Promise<Map<string, yauzl.Entry>> {
  return new Promise((resolve, reject) => {
    const entries = new Map<string, yauzl.Entry>();
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.once('end', () => resolve(entries));
    zip.once('error', reject);
    zip.readEntry();
  });
}

/** Copies a byte stream to a temporary file; returns the open file, its size and how to delete it. */
async function spool(stream: Readable, tempDir = tmpdir()): Promise<{ handle: FileHandle; size: number; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tempDir, 'tributary-xlsx-spool-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const path = join(dir, 'workbook.xlsx');
    await pipeline(stream, createWriteStream(path));
    const handle = await open(path, 'r');
    const { size } = await handle.stat();
    return { handle, size, remove: async () => {
      await handle.close().catch(() => undefined);
      await remove();
    } };
  } catch (err) {
    stream.destroy();
    await remove();
    throw err;
  }
}

/**
 * Opens a workbook's ZIP. Throws when the bytes are not a ZIP (yauzl's message,
 * which names the missing end of central directory) or cannot be read.
 */
export async function openWorkbookZip(input: WorkbookInput): Promise<WorkbookZip> {
  let handle: FileHandle;
  let size: number;
  let cleanup = async () => undefined as void;
  if ('stream' in input) {
    const copy = await spool(input.stream, input.tempDir);
    ({ handle, size } = copy);
    cleanup = copy.remove;
  } else {
    ({ handle, size } = input);
  }
  let zip: yauzl.ZipFile;
  let entries: Map<string, yauzl.Entry>;
  try {
    zip = await fromReader(new HandleReader(handle), size);
    entries = await entriesOf(zip);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const open = new Set<Readable>();
  let closed = false;
  return {
    has: (name) => entries.has(name),
    part(name) {
      const entry = entries.get(name);
      if (!entry) return Promise.resolve(undefined);
      return new Promise((resolve, reject) =>
        zip.openReadStream(entry, (err, stream) => {
          if (err) return reject(err);
          open.add(stream);
          stream.once('close', () => open.delete(stream));
          resolve(stream);
        }),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const s of open) s.destroy();
      zip.close();
      await cleanup();
    },
  };
}
