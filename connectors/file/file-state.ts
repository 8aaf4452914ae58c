import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import type { JsonValue, Logger, StreamState } from '../../core/plugin/types.js';
import type { CursorMark } from './cursor.js';

/** Bytes hashed at the start of a file for its fingerprint. */
export const HEAD_BYTES = 64 * 1024;

/** What identifies one version of a file: size, modification time and a SHA-1 of its first 64 KiB. */
export interface Fingerprint {
  size: number;
  mtimeMs: number;
  head: string;
}

/** One file of a stream: its fingerprint when read, how many rows are consumed, whether it is finished. */
export interface FileEntry extends Fingerprint {
  rows: number;
  /** Line of the last consumed row (for people reading the state; resuming uses `rows`). */
  line: number;
  done: boolean;
}

export interface CursorState extends CursorMark {
  field: string;
}

/**
 * The JSON state of a `csv` or `jsonl` stream. `cursor` is the bound of the
 * last completed run; `run` exists only while a run is in progress and holds
 * the maximum it has emitted so far (so a resumed run filters against the same
 * bound as the run it continues).
 */
export interface FileStreamState {
  files: Record<string, FileEntry>;
  cursor?: CursorState;
  run?: CursorState;
}

const mark = z.object({ field: z.string(), type: z.enum(['number', 'timestamp', 'string']).optional(), max: z.string(), keys: z.array(z.string()) });
const stateSchema = z.object({
  version: z.literal(1),
  files: z.record(
    z.string(),
    z.object({
      size: z.number(),
      mtimeMs: z.number(),
      head: z.string(),
      rows: z.number().int().min(0),
      line: z.number().int().min(0).default(0),
      done: z.boolean(),
    }),
  ),
  cursor: mark.optional(),
  run: mark.optional(),
});

/** Reads a saved state; anything unrecognisable starts from scratch (with a warning), never fails the run. */
export function parseState(raw: StreamState | undefined, logger: Logger, stream: string): FileStreamState {
  if (!raw || Object.keys(raw).length === 0) return { files: {} };
  const parsed = stateSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  logger.warn(`stream ${stream}: saved state is not a file-connector state, reading everything again`, {
    issue: parsed.error.issues[0]?.message,
  });
  return { files: {} };
}

export function toStreamState(s: FileStreamState): StreamState {
  const files: Record<string, JsonValue> = {};
  for (const [path, f] of Object.entries(s.files)) {
    files[path] = { size: f.size, mtimeMs: f.mtimeMs, head: f.head, rows: f.rows, line: f.line, done: f.done };
  }
  const out: StreamState = { version: 1, files };
  const asJson = (m: CursorState): JsonValue => (m.type ? { field: m.field, type: m.type, max: m.max, keys: [...m.keys] } : { field: m.field, max: m.max, keys: [...m.keys] });
  if (s.cursor) out.cursor = asJson(s.cursor);
  if (s.run) out.run = asJson(s.run);
  return out;
}

/** Fingerprint of an open file (the same handle is then read, so the two agree). */
export async function fingerprint(handle: FileHandle): Promise<Fingerprint> {
  const st = await handle.stat();
  const length = Math.min(HEAD_BYTES, st.size);
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, got, length - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return { size: st.size, mtimeMs: st.mtimeMs, head: createHash('sha1').update(buf.subarray(0, got)).digest('hex') };
}

export function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.head === b.head;
}
