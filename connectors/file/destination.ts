import { constants } from 'node:fs';
import { access, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, ConnectionError } from '../../core/errors.js';
import type { CheckResult, ConnectorContext, DestinationConnector, WriteResult } from '../../core/plugin/types.js';
import { fileDestinationConfigSchema, type FileDestinationConfig } from './config.js';
import { csvLine, CSV_HEADER, jsonlLine } from './profile-rows.js';

/** The temp file being written; a seam so tests can make the disk fail (ENOSPC, EACCES) without root tricks. */
export interface SnapshotHandle {
  /** Write all of `data` at byte `position`. */
  write(data: Buffer, position: number): Promise<void>;
  truncate(length: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface FileDestinationOptions {
  /** Open (create or truncate) the temp file. Default: the local filesystem. */
  openTemp?: (path: string) => Promise<SnapshotHandle>;
}

/** The default temp-file opener: a local file, truncated, written at explicit positions. */
export async function openLocalTemp(path: string): Promise<SnapshotHandle> {
  const fh = await open(path, 'w');
  return {
    async write(data, position) {
      for (let off = 0; off < data.length; ) {
        const { bytesWritten } = await fh.write(data, off, data.length - off, position + off);
        off += bytesWritten;
      }
    },
    truncate: (length) => fh.truncate(length),
    sync: () => fh.sync(),
    close: () => fh.close(),
  };
}

/** Disk errors that can pass (full disk, too many open files) are retryable; the rest are not. */
const PERMANENT_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'EFBIG', 'EBADF', 'EISDIR', 'ENOTDIR', 'EINVAL', 'ENAMETOOLONG']);

/** What a failed disk write means to the engine, by error code (ENOSPC retryable, EACCES permanent). */
export function classifyWriteError(err: unknown, file: string): Exclude<WriteResult, { status: 'ok' }> {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
  const reason = `writing ${file} failed (${code}): ${err instanceof Error ? err.message : String(err)}`;
  return PERMANENT_CODES.has(code) ? { status: 'permanent', reason } : { status: 'retryable', reason };
}

interface Session {
  target: string;
  temp: string;
  format: FileDestinationConfig['format'];
  handle: SnapshotHandle;
  /** Bytes written and kept so far; a failed batch is truncated back to here, so a retry never duplicates. */
  position: number;
  /** Set once a write failed for good or the temp file could not be restored: commit then refuses. */
  broken?: string;
}

function fsError(err: unknown, what: string, ctx: ConnectorContext<FileDestinationConfig>): Error {
  const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
  const message = `${what} (${code}): ${(err as Error).message}`;
  const context = { sync: ctx.name, file: ctx.config.path };
  if (PERMANENT_CODES.has(code) || code === 'EEXIST') return new ConfigError(message, context, { cause: err });
  return new ConnectionError(message, context, { cause: err });
}

async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** fsync the directory so the rename itself survives a power cut; not supported everywhere, hence best effort. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}

/** The target file: a relative `path` resolves against the config file's folder (`ctx.baseDir`), else the working directory. */
function targetOf(ctx: ConnectorContext<FileDestinationConfig>): string {
  return resolve(ctx.baseDir ?? process.cwd(), ctx.config.path);
}

/** With `createDirectories: false`, a missing parent is a mistake in the path, not something to create. */
async function missingParent(target: string, ctx: ConnectorContext<FileDestinationConfig>): Promise<void> {
  const dir = dirname(target);
  const s = await stat(dir).catch(() => undefined);
  if (!s) throw new ConfigError(`directory ${dir} does not exist (create it first)`, { sync: ctx.name, file: ctx.config.path });
  if (!s.isDirectory()) throw new ConfigError(`${dir} is not a directory`, { sync: ctx.name, file: ctx.config.path });
}

export async function checkTarget(path: string, createDirectories = true): Promise<CheckResult> {
  const target = resolve(path);
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) return { ok: false, message: `${path} is a directory, expected a file path` };
  if (!createDirectories) {
    const parent = await stat(dirname(target)).catch(() => undefined);
    if (!parent?.isDirectory()) return { ok: false, message: `directory ${dirname(target)} does not exist (create it first)` };
  }
  // The nearest existing ancestor must be a writable directory: the rest can be created.
  let dir = dirname(target);
  for (;;) {
    const s = await stat(dir).catch(() => undefined);
    if (s) {
      if (!s.isDirectory()) return { ok: false, message: `cannot create ${dirname(target)}: ${dir} is not a directory` };
      break;
    }
    const parent = dirname(dir);
    if (parent === dir) return { ok: false, message: `no existing directory above ${target}` };
    dir = parent;
  }
  try {
    await access(dir, constants.W_OK | constants.X_OK);
    return { ok: true };
  } catch (err) {
    return { ok: false, message: `directory ${dir} is not writable: ${(err as Error).message}` };
  }
}

/**
 * Build a `file` destination. Export the default instance (`fileDestination`);
 * call this only to inject a different temp-file opener (tests, a remote disk).
 *
 * @example
 * const dest = createFileDestination({ openTemp: (p) => myFaultyDisk.open(p) });
 */
export function createFileDestination(options: FileDestinationOptions = {}): DestinationConnector<FileDestinationConfig> {
  const openTemp = options.openTemp ?? openLocalTemp;
  // One open snapshot per target file in this process; the temp name (.<name>.tmp-<pid>) allows no more.
  const sessions = new Map<string, Session>();
  const sessionOf = (ctx: ConnectorContext<FileDestinationConfig>, step: string): Session => {
    const s = sessions.get(targetOf(ctx));
    if (!s) throw new ConnectionError(`${step} without begin: no snapshot of ${ctx.config.path} is open`, { sync: ctx.name, file: ctx.config.path }, { retryable: false });
    return s;
  };

  return {
    id: 'file',
    kind: 'destination',
    delivery: 'snapshot',
    spec: { config: fileDestinationConfigSchema },

    async check(ctx) {
      return checkTarget(targetOf(ctx), ctx.config.createDirectories);
    },

    async begin(ctx) {
      const target = targetOf(ctx);
      if (sessions.has(target)) {
        throw new ConnectionError(`a snapshot of ${ctx.config.path} is already being written by this process`, { sync: ctx.name, file: ctx.config.path }, { retryable: false });
      }
      const temp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
      let handle: SnapshotHandle;
      try {
        if (ctx.config.createDirectories) await mkdir(dirname(target), { recursive: true });
        else await missingParent(target, ctx);
        handle = await openTemp(temp);
      } catch (err) {
        throw fsError(err, `cannot create ${temp}`, ctx);
      }
      const session: Session = { target, temp, format: ctx.config.format, handle, position: 0 };
      sessions.set(target, session);
      if (session.format === 'csv') {
        const header = Buffer.from(CSV_HEADER, 'utf8');
        try {
          await handle.write(header, 0);
        } catch (err) {
          sessions.delete(target);
          await handle.close().catch(() => undefined);
          await removeQuietly(temp);
          throw fsError(err, `cannot write ${temp}`, ctx);
        }
        session.position = header.length;
      }
    },

    async write(ctx, batch) {
      const s = sessionOf(ctx, 'write');
      const results: WriteResult[] = [];
      const written: number[] = [];
      const lines: string[] = [];
      batch.forEach((item, i) => {
        // A snapshot holds the profiles that exist: a delete is simply not written.
        if (item.op === 'delete') return results.push({ status: 'ok' });
        if (s.broken) return results.push({ status: 'permanent', reason: s.broken });
        if (!item.profile) return results.push({ status: 'permanent', reason: `upsert of ${item.key} carries no profile` });
        try {
          lines.push(s.format === 'csv' ? csvLine(item.profile) : jsonlLine(item.profile));
        } catch (err) {
          return results.push({ status: 'permanent', reason: `profile ${item.key} cannot be serialized: ${(err as Error).message}` });
        }
        written.push(i);
        return results.push({ status: 'ok' });
      });
      if (lines.length === 0) return results;
      const data = Buffer.from(lines.join(''), 'utf8');
      try {
        await s.handle.write(data, s.position);
        s.position += data.length;
        return results;
      } catch (err) {
        const failure = classifyWriteError(err, s.temp);
        try {
          await s.handle.truncate(s.position);
        } catch (undo) {
          s.broken = `${failure.reason}; the temp file could not be restored: ${(undo as Error).message}`;
        }
        if (failure.status === 'permanent') s.broken = failure.reason;
        for (const i of written) results[i] = failure;
        return results;
      }
    },

    async commit(ctx) {
      const s = sessionOf(ctx, 'commit');
      sessions.delete(s.target);
      try {
        if (s.broken) throw new ConnectionError(`snapshot not published, ${ctx.config.path} is left as it was: ${s.broken}`, { sync: ctx.name, file: ctx.config.path }, { retryable: false });
        await s.handle.sync();
        await s.handle.close();
        await rename(s.temp, s.target);
      } catch (err) {
        await s.handle.close().catch(() => undefined);
        await removeQuietly(s.temp);
        throw err instanceof ConnectionError ? err : fsError(err, `cannot publish ${s.target}`, ctx);
      }
      await syncDir(dirname(s.target));
    },

    async abort(ctx) {
      const s = sessions.get(targetOf(ctx));
      if (!s) return;
      sessions.delete(s.target);
      await s.handle.close().catch(() => undefined);
      await removeQuietly(s.temp);
    },
  };
}

/** The `file` destination: a JSONL or CSV snapshot of every profile, replaced atomically. See README.md. */
export const fileDestination = createFileDestination();
