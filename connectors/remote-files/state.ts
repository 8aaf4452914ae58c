import { z } from 'zod';
import type { JsonValue, Logger, StreamState } from '../../core/plugin/types.js';

/**
 * One remote file of a stream: its identity when read (size, mtime), how far it
 * is consumed, whether it is finished. `offset` is the byte (and `line` the
 * physical line) where the next read starts; `skip` rows there are consumed
 * already (1 after a checkpoint: the line of the last row read), so a resumed
 * read asks the server for bytes from `offset`, not from 0.
 */
export interface RemoteFileEntry {
  size: number;
  mtimeMs: number;
  rows: number;
  line: number;
  offset: number;
  skip: number;
  done: boolean;
  /** CSV column names, so a read resumed after the header can name fields. */
  columns?: string[];
}

export interface RemoteStreamState {
  files: Record<string, RemoteFileEntry>;
}

const entry = z.object({
  size: z.number(),
  mtimeMs: z.number(),
  rows: z.number().int().min(0),
  line: z.number().int().min(0),
  offset: z.number().int().min(0),
  skip: z.number().int().min(0).max(1),
  done: z.boolean(),
  columns: z.array(z.string()).optional(),
});
const schema = z.object({ version: z.literal(1), kind: z.literal('remote-files'), files: z.record(z.string(), entry) });

/** A saved state; anything unrecognisable starts from scratch with a warning, never fails the run. */
export function parseRemoteState(raw: StreamState | undefined, logger: Logger, stream: string): RemoteStreamState {
  if (!raw || Object.keys(raw).length === 0) return { files: {} };
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { files: parsed.data.files };
  logger.warn(`stream ${stream}: saved state is not a remote-file state, reading everything again`, { issue: parsed.error.issues[0]?.message });
  return { files: {} };
}

export function toStreamState(s: RemoteStreamState): StreamState {
  const files: Record<string, JsonValue> = {};
  for (const [p, f] of Object.entries(s.files)) {
    const e: Record<string, JsonValue> = { size: f.size, mtimeMs: f.mtimeMs, rows: f.rows, line: f.line, offset: f.offset, skip: f.skip, done: f.done };
    if (f.columns) e.columns = [...f.columns];
    files[p] = e;
  }
  return { version: 1, kind: 'remote-files', files };
}
