import { open, type FileHandle } from 'node:fs/promises';
import type { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import type { ConfiguredStream, ConnectorContext, SourceMessage, StateMessage, StreamState } from '../../core/plugin/types.js';
import type { FileSourceConfig } from './config.js';
import { CursorAccumulator, CursorFilter, CursorGate, cursorText, parseHorizon, rowKey, type CursorMark, type CursorType } from './cursor.js';
import { baseDirOf, displayPath, streamFiles } from './file-set.js';
import { fingerprint, parseState, sameFingerprint, toStreamState, type CursorState, type FileEntry } from './file-state.js';

/** One unit a format reader produces: a row, or a row it could not parse. Both count as consumed. */
export type FileRow =
  | { kind: 'row'; line: number; data: Record<string, unknown> }
  | { kind: 'error'; line: number; reason: string; raw: string };

export interface RowReaderInput<S> {
  handle: FileHandle;
  /** Bytes to read (the fingerprinted size). */
  size: number;
  /** The file as origins name it. */
  display: string;
  config: S;
  ctx: ConnectorContext<FileSourceConfig>;
}

/**
 * A file format: turns one open file into rows, in file order. Implement one to
 * add a format (say, fixed-width text) to the shared loop and get file tracking,
 * resume and cursors for free. It must be deterministic (the same bytes give the
 * same sequence), which is what resuming "after N rows" relies on, and must
 * report a bad row as an `error` row rather than throw.
 *
 * @example
 * const readLines: RowReader<{ path: string; encoding: TextEncoding }> = async function* ({ handle, size, config }) {
 *   for await (const l of splitLines(decodedChunks(handle, size, config.encoding), 1 << 20)) {
 *     if ('text' in l) yield { kind: 'row', line: l.line, data: { text: l.text } };
 *   }
 * };
 */
export type RowReader<S> = (input: RowReaderInput<S>) => AsyncIterable<FileRow>;

/** How `readStream` asks a reader of this connector for its rows a batch at a time. */
const ROW_BATCHES = Symbol('rowBatches');

/** Rows one by one, as every `RowReader` gives them, and also one array per batch, which the shared loop prefers. */
export interface BatchedRows extends AsyncIterable<FileRow> {
  [ROW_BATCHES](): AsyncIterable<FileRow[]>;
}

/**
 * The rows of `batches` as a reader's result. The built-in formats give their
 * rows this way: a generator step per row (a promise and an iterator result) was
 * a large part of reading a row. A third-party reader need not: plain rows work
 * as documented on `RowReader`.
 */
export function batchedRows(batches: () => AsyncIterable<FileRow[]>): BatchedRows {
  return {
    [ROW_BATCHES]: batches,
    async *[Symbol.asyncIterator]() {
      for await (const batch of batches()) for (const row of batch) yield row;
    },
  };
}

function isBatched(rows: AsyncIterable<FileRow>): rows is BatchedRows {
  return ROW_BATCHES in rows;
}

export interface FileStreamOptions {
  path: string;
  /** See `cursorType` in config.ts; `auto` when absent. */
  cursorType?: 'auto' | CursorType;
  /** See `cursorHorizon` in config.ts; `1d` when absent. */
  cursorHorizon?: string;
}

/** Cursor warnings logged one by one per stream and run; the rest are counted and summed up in one line. */
const LOGGED_CURSOR_WARNINGS = 10;

/**
 * A saved mark whose maximum does not parse as the cursor's type (written by a
 * version that let `not a date` become the bound) is dropped: reading again is
 * idempotent, hiding rows forever is not. A bound beyond the horizon is kept
 * (a state past every record must return nothing) but said out loud.
 */
function trustedMark(
  mark: CursorState | undefined,
  declared: 'auto' | CursorType,
  horizonMs: number | undefined,
  ctx: ConnectorContext<FileSourceConfig>,
  stream: string,
): CursorState | undefined {
  if (!mark) return undefined;
  const gate = new CursorGate(declared === 'auto' ? (mark.type ?? 'auto') : declared, undefined, Date.now);
  const verdict = gate.check(mark.max);
  if (!verdict.ok) {
    ctx.logger.warn(
      `stream ${stream}: saved cursor bound "${mark.max}" of ${mark.field} is ${verdict.reason}; it is ignored and rows are read again (the store absorbs the repeats)`,
    );
    return undefined;
  }
  const future = new CursorGate(gate.type ?? 'auto', horizonMs, Date.now).check(mark.max);
  if (!future.ok) {
    ctx.logger.warn(
      `stream ${stream}: saved cursor bound "${mark.max}" of ${mark.field} is ${future.reason}: rows up to it are skipped; reset the stream's state if a bad row put it there`,
    );
  }
  return { ...mark, type: gate.type };
}

const withCursorField = (field: string, m: CursorMark | undefined): CursorState | undefined => (m ? { field, ...m } : undefined);

async function openFile(stream: string, file: string, display: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(`file ${display} cannot be read (${code}): ${(err as Error).message}`, { stream, file: display }, { cause: err });
  }
}

/**
 * The read loop shared by the csv and jsonl sources: for each stream, its files
 * in sorted order; a file unchanged since it was read completely is skipped; a
 * file interrupted mid-way resumes after the rows already consumed; with a
 * cursor field, only rows above the saved maximum (or at it and not yet seen)
 * are emitted. A state message follows every `checkpointEvery` rows, every
 * finished file and the end of the stream.
 */
export async function* readFileStreams<S extends FileStreamOptions>(
  ctx: ConnectorContext<FileSourceConfig>,
  streams: ConfiguredStream<S>[],
  state: Record<string, StreamState | undefined>,
  reader: RowReader<S>,
  /** Validates each stream's config first (all of them before any file is read). */
  prepare?: (stream: ConfiguredStream<S>) => ConfiguredStream<S>,
): AsyncGenerator<SourceMessage> {
  const all = prepare ? streams.map(prepare) : streams;
  const baseDir = await baseDirOf(ctx.config.path, ctx.baseDir);
  // One generator for every stream and file, without a nested one per stream: each level
  // of yield* cost a promise and an iterator result per row. A `return` below ends the read
  // where the nested generator's did, as the next stream would stop on the same abort.
  for (const stream of all) {
    if (ctx.signal.aborted) return;
    const name = stream.name;
    const saved = state[name];
    const files = await streamFiles(name, stream.config.path, baseDir);
    // Full refresh reads everything every time; the state it yields only serves a later switch to incremental.
    const prev = stream.mode === 'incremental' ? parseState(saved, ctx.logger, name) : { files: {} };
    const field = stream.mode === 'incremental' ? stream.cursorField : undefined;
    const declared = stream.config.cursorType ?? 'auto';
    const horizonMs = parseHorizon(stream.config.cursorHorizon ?? '1d');
    const bound = field && prev.cursor?.field === field ? trustedMark(prev.cursor, declared, horizonMs, ctx, name) : undefined;
    const resumedRun = field && prev.run?.field === field ? trustedMark(prev.run, declared, horizonMs, ctx, name) : undefined;
    const filter = field ? new CursorFilter(bound) : undefined;
    const acc = field ? new CursorAccumulator(resumedRun ?? bound) : undefined;
    const gate = new CursorGate(declared, horizonMs, Date.now, resumedRun?.type ?? bound?.type);
    let cursorWarnings = 0;
    const cursorWarning = (origin: string, value: string, reason: string) => {
      ctx.metrics.count('cursor_warnings', 1, { stream: name });
      if (++cursorWarnings <= LOGGED_CURSOR_WARNINGS) {
        ctx.logger.warn(`stream ${name}: ${origin}: cursor ${field} value "${value.slice(0, 80)}" is ${reason}; the row is read, the state ignores its value`);
      }
    };

    // Files no longer matched drop out of the state, which keeps it as small as the folder.
    const entries: Record<string, FileEntry> = {};
    for (const f of files) if (prev.files[f]) entries[f] = prev.files[f];
    const snapshot = (final: boolean): StateMessage => {
      const running = field ? withCursorField(field, acc!.mark()) : undefined;
      return {
        type: 'state',
        stream: name,
        state: toStreamState(final ? { files: entries, cursor: running } : { files: entries, cursor: bound, run: running }),
      };
    };

    let sinceCheckpoint = 0;
    for (const file of files) {
      if (ctx.signal.aborted) return;
      const display = displayPath(file);
      const handle = await openFile(name, file, display);
      try {
        const fp = await fingerprint(handle);
        const old = entries[file];
        const unchanged = old !== undefined && sameFingerprint(old, fp);
        if (unchanged && old.done) continue;
        const skip = unchanged ? old.rows : 0;
        if (skip > 0) ctx.logger.info(`stream ${name}: resuming ${display} after row ${skip}`);
        const entry: FileEntry = { ...fp, rows: skip, line: unchanged ? old.line : 0, done: false };
        entries[file] = entry;
        let n = 0;
        /** The message a row gives, if any (a row the cursor filter holds back gives none). */
        const messageOf = (row: FileRow): SourceMessage | undefined => {
          entry.rows = n;
          entry.line = row.line;
          const origin = `${display}:${row.line}`;
          if (row.kind === 'error') return { type: 'error', stream: name, reason: row.reason, origin, raw: row.raw };
          const value = field ? cursorText(row.data[field]) : undefined;
          if (value === undefined) return { type: 'record', stream: name, data: row.data, origin };
          const verdict = gate.check(value);
          if (!verdict.ok) {
            cursorWarning(origin, value, verdict.reason);
            return { type: 'record', stream: name, data: row.data, origin };
          }
          const key = rowKey(row.data, stream.primaryKey);
          if (!filter!.admits(value, key)) return undefined;
          // Before the row is yielded, not after: nothing reads the accumulator until the next snapshot.
          acc!.observe(value, key, gate.type);
          return { type: 'record', stream: name, data: row.data, origin };
        };
        const rows = reader({ handle, size: fp.size, display, config: stream.config, ctx });
        // A built-in reader hands its rows over a batch at a time; a third-party one row by row, each as a batch of one.
        const batches = isBatched(rows) ? rows[ROW_BATCHES]() : oneByOne(rows);
        for await (const batch of batches) {
          for (const row of batch) {
            if (++n <= skip) continue;
            const msg = messageOf(row);
            if (msg) yield msg;
            if (++sinceCheckpoint >= ctx.config.checkpointEvery) {
              sinceCheckpoint = 0;
              yield snapshot(false);
            }
            if (ctx.signal.aborted) return;
          }
        }
        entry.done = true;
        yield snapshot(false);
      } finally {
        // Possibly closed already by an abandoned read stream (see decodedChunks).
        await handle.close().catch(() => undefined);
      }
    }
    if (cursorWarnings > LOGGED_CURSOR_WARNINGS) {
      ctx.logger.warn(`stream ${name}: ${cursorWarnings - LOGGED_CURSOR_WARNINGS} more cursor values were ignored by the state (${cursorWarnings} in all)`);
    }
    yield snapshot(true);
  }
}

/** Stream options validated once more at read time (idempotent), naming the sync and stream when wrong. */
export function parseStreamConfig<S>(schema: z.ZodType<S>, connector: string, sync: string, stream: string, config: unknown): S {
  const parsed = schema.safeParse(config);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue.path.map(String).join('.') || '(root)';
  throw new ConfigError(`${connector} stream config ${at}: ${issue.message}`, { sync, stream });
}

/** A RowReader's plain rows as batches of one, so that both kinds of reader go through one loop. */
async function* oneByOne(rows: AsyncIterable<FileRow>): AsyncGenerator<FileRow[]> {
  for await (const row of rows) yield [row];
}
