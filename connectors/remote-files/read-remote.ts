import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, ConnectionError } from '../../core/errors.js';
import type { ConfiguredStream, ConnectorContext, SourceMessage, StateMessage, StreamState } from '../../core/plugin/types.js';
import { segmentMatcher } from '../file/glob.js';
import type { RemoteStreamConfig } from './config.js';
import { formatOf, textAttempt, xlsxAttempt, XlsxStreamFailure } from './file-rows.js';
import { joinRemote, unsafeNameReason, type RemoteEntry, type RemoteSession } from './remote-fs.js';
import { spool, type Spooled } from './spool.js';
import { parseRemoteState, toStreamState, type RemoteFileEntry } from './state.js';

/** The connector options the shared loop reads (see `remoteFileOptions`). */
export interface RemoteSourceConfig {
  path: string;
  ready: 'stable-size' | 'marker' | 'any';
  settleMs: number;
  onChange: 'skip' | 'reread' | 'append';
  archiveDir?: string;
  checkpointEvery: number;
  reconnectAttempts: number;
  reconnectBaseMs: number;
  /** Download to a temporary file before parsing (see `remoteFileOptions.spool`); absent means false. */
  spool?: boolean;
}

export interface RemoteReadOptions {
  /** Opens a new connection (called again after a drop). */
  connect(): Promise<RemoteSession>;
  /** How a remote file is named in origins and messages, e.g. `sftp://host/drops/a.csv`. */
  display(path: string): string;
}

const MARKER = '.done';
/** XLSX warnings logged one by one per stream and run; the rest are counted (`xlsx_warnings`) and summed up. */
const LOGGED_WARNINGS = 10;

/** A spooled download that ended short of the listed size: the link dropped without an error. */
class ShortDownload extends Error {}

/** Holds the connection; a dropped one is closed and reopened on demand. */
class Link {
  private session?: RemoteSession;
  constructor(private readonly open: () => Promise<RemoteSession>) {}
  async get(): Promise<RemoteSession> {
    this.session ??= await this.open();
    return this.session;
  }
  async reset(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    await s?.close().catch(() => undefined);
  }
}

function splitStreamPath(root: string, p: string): { dir: string; pattern: string } {
  const i = p.lastIndexOf('/');
  const sub = i === -1 ? '' : p.slice(0, i);
  return { dir: sub ? joinRemote(root, sub) : root, pattern: i === -1 ? p : p.slice(i + 1) };
}

/**
 * The read loop of the remote file sources. Per stream: list the directory,
 * archive files whose completion the engine has committed (the state handed
 * in is the committed one), keep the files that are fully uploaded, and read
 * each new or changed one from the socket into the CSV/JSONL parser, resuming
 * at the checkpointed byte offset. A dropped connection reconnects with
 * backoff and resumes after the last row yielded.
 */
export async function* readRemoteStreams(
  ctx: ConnectorContext<RemoteSourceConfig>,
  streams: ConfiguredStream<RemoteStreamConfig>[],
  state: Record<string, StreamState | undefined>,
  opts: RemoteReadOptions,
): AsyncGenerator<SourceMessage> {
  const link = new Link(opts.connect);
  try {
    for (const stream of streams) {
      if (ctx.signal.aborted) return;
      yield* readStream(ctx, stream, state[stream.name], opts, link);
    }
  } finally {
    await link.reset();
  }
}

/**
 * A directory listing, retried like a download: a dropped connection is
 * reopened with the same backoff (`reconnectAttempts`, `reconnectBaseMs`
 * doubling), so a link that drops between files does not fail the run.
 */
async function listDir(ctx: ConnectorContext<RemoteSourceConfig>, link: Link, dir: string, stream: string, display: string): Promise<RemoteEntry[]> {
  const cfg = ctx.config;
  for (let attempt = 0; ; attempt++) {
    const session = await link.get();
    try {
      return await session.list(dir);
    } catch (err) {
      const kind = session.classify(err);
      if (kind === 'missing') throw new ConfigError(`remote directory ${display} does not exist`, { stream, file: display }, { cause: err });
      if (kind !== 'connection' || attempt >= cfg.reconnectAttempts || ctx.signal.aborted) {
        throw new ConnectionError(`remote directory ${display} cannot be listed: ${(err as Error).message}`, { stream, file: display }, { cause: err });
      }
      const wait = cfg.reconnectBaseMs * 2 ** attempt;
      ctx.logger.warn(`stream ${stream}: connection lost listing ${display} (${(err as Error).message}); reconnecting in ${wait} ms`);
      await link.reset();
      await sleep(wait, undefined, { signal: ctx.signal }).catch(() => undefined);
    }
  }
}

async function* readStream(
  ctx: ConnectorContext<RemoteSourceConfig>,
  stream: ConfiguredStream<RemoteStreamConfig>,
  saved: StreamState | undefined,
  opts: RemoteReadOptions,
  link: Link,
): AsyncGenerator<SourceMessage> {
  const name = stream.name;
  const cfg = ctx.config;
  const { dir, pattern } = splitStreamPath(cfg.path, stream.config.path);
  const match = segmentMatcher(pattern);
  const committed = parseRemoteState(saved, ctx.logger, name);
  // Full refresh reads every file every time; the saved state still says what may be archived.
  const prev = stream.mode === 'incremental' ? committed : { files: {} as typeof committed.files };
  if (stream.cursorField) {
    ctx.logger.warn(`stream ${name}: cursor ${stream.cursorField} is not used by remote file sources; every new or changed file is read whole (or its appended part)`);
  }
  const isCandidate = (e: RemoteEntry) => e.isFile && match.test(e.name) && !(cfg.ready === 'marker' && e.name.endsWith(MARKER));

  let listing = await listDir(ctx, link, dir, name, opts.display(dir));
  const refused = listing.filter((e) => unsafeNameReason(e.name) !== undefined && e.name !== '.' && e.name !== '..');
  for (const e of refused) {
    ctx.metrics.count('refused_remote_names', 1, { stream: name });
    ctx.logger.warn(`stream ${name}: remote name ${JSON.stringify(e.name)} in ${opts.display(dir)} ${unsafeNameReason(e.name)}; refused`);
  }
  listing = listing.filter((e) => unsafeNameReason(e.name) === undefined);

  if (cfg.archiveDir) listing = await archiveCommitted(ctx, name, link, dir, listing, committed.files, opts);

  let candidates = listing.filter(isCandidate);
  const entries: Record<string, RemoteFileEntry> = {};
  for (const e of candidates) {
    const p = joinRemote(dir, e.name);
    if (prev.files[p]) entries[p] = prev.files[p];
  }
  candidates = await readyFiles(ctx, name, link, dir, listing, candidates, opts);

  const snapshot = (): StateMessage => ({ type: 'state', stream: name, state: toStreamState({ files: entries }) });
  let sinceCheckpoint = 0;
  let warnings = 0;
  const warn = (message: string) => {
    ctx.metrics.count('xlsx_warnings', 1, { stream: name });
    if (++warnings <= LOGGED_WARNINGS) ctx.logger.warn(`stream ${name}: ${message}`);
  };
  for (const file of candidates.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (ctx.signal.aborted) return;
    const path = joinRemote(dir, file.name);
    const display = opts.display(path);
    const entry = startEntry(ctx, name, display, entries[path], file);
    if (!entry) continue;
    entries[path] = entry;
    const format = formatOf(stream.config, file.name);
    let attempts = 0;
    let rowsAtDrop = -1;
    for (;;) {
      const session = await link.get();
      let spooled: Spooled | undefined;
      try {
        // A ZIP is read from its first byte whatever the checkpoint says (resume is by row count).
        const start = format === 'xlsx' ? 0 : entry.offset;
        let bytes = session.read(path, start, file.size);
        if (cfg.spool) {
          spooled = await spool(bytes);
          if (spooled.bytes !== file.size - start) throw new ShortDownload(`got ${spooled.bytes} of ${file.size - start} bytes`);
          ctx.logger.debug(`stream ${name}: spooled ${display} to ${spooled.path}`, { bytes: spooled.bytes });
          bytes = spooled.open();
        }
        const input = { bytes, spooledPath: spooled?.path, entry, config: stream.config, display, logger: ctx.logger, onWarning: warn };
        const attempt = format === 'xlsx' ? xlsxAttempt(input, file.size) : textAttempt(input, format);
        for await (const row of attempt.rows) {
          const line = attempt.accept(row);
          if (line === undefined) continue;
          const origin = `${display}:${line}`;
          if (row.kind === 'error') yield { type: 'error', stream: name, reason: row.reason, origin, raw: row.raw };
          else yield { type: 'record', stream: name, data: row.data, origin };
          if (++sinceCheckpoint >= cfg.checkpointEvery) {
            sinceCheckpoint = 0;
            yield snapshot();
          }
          if (ctx.signal.aborted) return;
        }
        attempt.finish(file.size);
        yield snapshot();
        break;
      } catch (err) {
        const cause = err instanceof XlsxStreamFailure ? err.failure : err;
        const kind = err instanceof ShortDownload ? 'connection' : session.classify(cause);
        if (kind === 'missing') {
          ctx.metrics.count('remote_files_vanished', 1, { stream: name });
          ctx.logger.warn(`stream ${name}: ${display} disappeared between listing and download; skipped`);
          if (entry.rows === 0 && !prev.files[path]) delete entries[path];
          break;
        }
        // Progress since the last drop earns a fresh set of attempts: only a link that never recovers ends the run.
        if (rowsAtDrop >= 0 && entry.rows > rowsAtDrop) attempts = 0;
        rowsAtDrop = entry.rows;
        if (kind !== 'connection' || attempts >= cfg.reconnectAttempts) {
          throw new ConnectionError(`reading ${display} failed: ${(cause as Error).message}`, { stream: name, file: display }, { cause });
        }
        const wait = cfg.reconnectBaseMs * 2 ** attempts++;
        const at = format === 'xlsx' ? `after row ${entry.rows} (the workbook is downloaded again)` : `at byte ${entry.offset}`;
        ctx.logger.warn(`stream ${name}: connection lost reading ${display} (${(cause as Error).message}); reconnecting in ${wait} ms, resuming ${at}`);
        await link.reset();
        await sleep(wait, undefined, { signal: ctx.signal }).catch(() => undefined);
        if (ctx.signal.aborted) return;
      } finally {
        // Removed once the file's last state is handed on, on a failure, and when the run stops mid-file.
        await spooled?.remove();
      }
    }
  }
  if (warnings > LOGGED_WARNINGS) ctx.logger.warn(`stream ${name}: ${warnings - LOGGED_WARNINGS} more XLSX warnings (${warnings} in all)`);
  yield snapshot();
}

/** Where reading a listed file starts, or undefined when it is not to be read (done, or changed under `skip`). */
function startEntry(
  ctx: ConnectorContext<RemoteSourceConfig>,
  stream: string,
  display: string,
  old: RemoteFileEntry | undefined,
  file: RemoteEntry,
): RemoteFileEntry | undefined {
  const fresh: RemoteFileEntry = { size: file.size, mtimeMs: file.mtimeMs, rows: 0, line: 0, offset: 0, skip: 0, done: false };
  if (!old) return fresh;
  const unchanged = old.size === file.size && old.mtimeMs === file.mtimeMs;
  if (unchanged) {
    if (old.done) return undefined;
    if (old.rows > 0) ctx.logger.info(`stream ${stream}: resuming ${display} at byte ${old.offset} (line ${old.line})`);
    return { ...old };
  }
  if (!old.done) {
    ctx.logger.warn(`stream ${stream}: ${display} changed while it was being read; reading it again from the start`);
    return fresh;
  }
  const policy = ctx.config.onChange;
  if (policy === 'skip') return undefined;
  if (policy === 'append') {
    if (file.size >= old.size) {
      ctx.logger.info(`stream ${stream}: ${display} grew from ${old.size} to ${file.size} bytes; reading the appended part`);
      return { ...old, size: file.size, mtimeMs: file.mtimeMs, done: false, offset: old.size, skip: 0 };
    }
    ctx.logger.warn(`stream ${stream}: ${display} shrank from ${old.size} to ${file.size} bytes, so it is not an append; reading it again`);
  }
  return fresh;
}

/** Files fully uploaded: stable in size and mtime across two listings, or with their marker file. */
async function readyFiles(
  ctx: ConnectorContext<RemoteSourceConfig>,
  stream: string,
  link: Link,
  dir: string,
  listing: RemoteEntry[],
  candidates: RemoteEntry[],
  opts: RemoteReadOptions,
): Promise<RemoteEntry[]> {
  const cfg = ctx.config;
  if (cfg.ready === 'any' || candidates.length === 0) return candidates;
  if (cfg.ready === 'marker') {
    const names = new Set(listing.map((e) => e.name));
    const ready = candidates.filter((e) => names.has(`${e.name}${MARKER}`));
    for (const e of candidates) if (!ready.includes(e)) ctx.logger.info(`stream ${stream}: ${opts.display(joinRemote(dir, e.name))} has no ${e.name}${MARKER} yet; left for a later run`);
    return ready;
  }
  await sleep(cfg.settleMs, undefined, { signal: ctx.signal }).catch(() => undefined);
  const again = new Map((await listDir(ctx, link, dir, stream, opts.display(dir))).map((e) => [e.name, e]));
  return candidates.filter((e) => {
    const later = again.get(e.name);
    const stable = later !== undefined && later.size === e.size && later.mtimeMs === e.mtimeMs;
    if (!stable) ctx.logger.info(`stream ${stream}: ${opts.display(joinRemote(dir, e.name))} is still changing (upload in progress?); left for a later run`);
    return stable;
  });
}

/**
 * Moves files whose last row the engine has committed (done in the saved state,
 * same size and mtime) into the archive folder. Done here, at the start of the
 * next read, because only the state handed to `read` is known to be committed.
 */
async function archiveCommitted(
  ctx: ConnectorContext<RemoteSourceConfig>,
  stream: string,
  link: Link,
  dir: string,
  listing: RemoteEntry[],
  saved: Record<string, RemoteFileEntry>,
  opts: RemoteReadOptions,
): Promise<RemoteEntry[]> {
  const archive = ctx.config.archiveDir!.startsWith('/') ? ctx.config.archiveDir! : joinRemote(ctx.config.path, ctx.config.archiveDir!);
  const session = await link.get();
  let made = false;
  const kept: RemoteEntry[] = [];
  for (const e of listing) {
    const p = joinRemote(dir, e.name);
    const s = saved[p];
    const committed = s?.done && s.size === e.size && s.mtimeMs === e.mtimeMs;
    if (!committed) {
      kept.push(e);
      continue;
    }
    try {
      if (!made) await session.mkdir(archive);
      made = true;
      await session.rename(p, joinRemote(archive, e.name));
      if (ctx.config.ready === 'marker' && listing.some((m) => m.name === `${e.name}${MARKER}`)) {
        await session.rename(joinRemote(dir, `${e.name}${MARKER}`), joinRemote(archive, `${e.name}${MARKER}`)).catch(() => undefined);
      }
      ctx.metrics.count('remote_files_archived', 1, { stream });
      ctx.logger.info(`stream ${stream}: archived ${opts.display(p)} to ${opts.display(archive)}`);
    } catch (err) {
      ctx.logger.warn(`stream ${stream}: could not archive ${opts.display(p)} (${(err as Error).message}); it stays and is not read again`);
      kept.push(e);
    }
  }
  return ctx.config.ready === 'marker' ? kept.filter((e) => !e.name.endsWith(MARKER) || kept.some((k) => `${k.name}${MARKER}` === e.name)) : kept;
}
