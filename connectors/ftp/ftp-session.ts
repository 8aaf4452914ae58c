import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import ftp from 'basic-ftp';
import type { FileInfo } from 'basic-ftp';
import { ConfigError, ConnectionError } from '../../core/errors.js';
import type { Logger } from '../../core/plugin/types.js';
import { unsafeNameReason, type RemoteEntry, type RemoteSession } from '../remote-files/remote-fs.js';
import { ftpPort, type FtpConfig } from './config.js';

const { Client, FTPError, FileType } = ftp;
type FtpClient = InstanceType<typeof Client>;

const CONNECTION_CODES = ['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ESHORTREAD'];

/** FTP replies: 550/450 "file unavailable", 421 and 425/426 a lost control or data connection. */
export function classifyFtpError(err: unknown): 'missing' | 'connection' | 'other' {
  if (err instanceof FTPError) {
    if (err.code === 550 || err.code === 450) return 'missing';
    return err.code === 421 || err.code === 425 || err.code === 426 ? 'connection' : 'other';
  }
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && CONNECTION_CODES.includes(e.code)) return 'connection';
  return typeof e?.message === 'string' && /FIN packet|closed|timeout|socket|connection|not connected/i.test(e.message) ? 'connection' : 'other';
}

/** An FTP server's modification time when the listing has none (LIST): MDTM (second precision, UTC). */
async function mtimeOf(client: Pick<FtpClient, 'lastMod'>, path: string, info: FileInfo): Promise<number> {
  if (info.modifiedAt) return info.modifiedAt.getTime();
  try {
    return (await client.lastMod(path)).getTime();
  } catch (err) {
    if (!(err instanceof FTPError)) throw err;
    // No MDTM: the LIST date (a minute or a day of precision); size stability covers the rest.
    const parsed = Date.parse(info.rawModifiedAt);
    return Number.isNaN(parsed) ? 0 : parsed;
  }
}

/**
 * The entries of one listing. MLSD (proftpd, pure-ftpd) carries size and an
 * exact UTC `modify` fact; a LIST fallback (vsftpd) carries the size and a
 * date of minute precision at best, so each file's mtime is asked with MDTM.
 */
export async function toEntries(client: Pick<FtpClient, 'lastMod'>, dir: string, infos: FileInfo[]): Promise<RemoteEntry[]> {
  const out: RemoteEntry[] = [];
  for (const info of infos) {
    const isFile = info.type === FileType.File;
    // A name the read loop refuses is not sent back to the server, not even in an MDTM.
    const mtimeMs = isFile && !unsafeNameReason(info.name) ? await mtimeOf(client, posix.join(dir, info.name), info) : (info.modifiedAt?.getTime() ?? 0);
    out.push({ name: info.name, size: info.size, mtimeMs, isFile });
  }
  return out;
}

const oneLine = (s: string) => s.replace(/\s*\r?\n\s*/g, ' ').trim();

/** OpenSSL errors span lines ("...:354:\n (control socket)"); the read loop quotes messages in one-line errors. */
export function tidy(err: unknown): Error {
  if (err instanceof Error && /[\r\n]/.test(err.message)) err.message = oneLine(err.message);
  return err as Error;
}

class FtpSession implements RemoteSession {
  private ended = false;
  constructor(
    private client: FtpClient,
    private readonly home: string,
    private readonly reopen: () => Promise<{ client: FtpClient }>,
  ) {}

  private abs(p: string): string {
    return p.startsWith('/') ? posix.normalize(p) : posix.join(this.home, p);
  }

  /** The client, reconnected if an abandoned download had to close it (FTP cannot cancel a RETR otherwise). */
  private async ready(): Promise<FtpClient> {
    if (this.ended) throw new Error('FTP session is closed');
    if (this.client.closed) this.client = (await this.reopen()).client;
    return this.client;
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    const client = await this.ready();
    const abs = this.abs(dir);
    try {
      // CWD first: vsftpd answers LIST of a missing directory with an empty listing, CWD with 550.
      await client.cd(abs);
      return await toEntries(client, abs, await client.list());
    } catch (err) {
      throw tidy(err);
    }
  }

  read(path: string, start: number, end: number): Readable {
    let wanted = Math.max(0, end - start);
    let settled = false;
    const session = this;
    let sink: Writable | undefined;
    const out = new PassThrough({
      highWaterMark: 256 * 1024,
      // Runs inside destroy(), before the reader can ask for anything else: a reader that leaves early
      // (a sample, an abort) leaves a RETR running, so the link is closed now and the next call reopens it.
      destroy(err, cb) {
        if (!settled) session.client.close();
        if (sink && !sink.destroyed) sink.destroy();
        cb(err);
      },
    });
    if (wanted === 0) {
      settled = true;
      out.end();
      return out;
    }
    // basic-ftp pipes the data socket into `sink` and ends it whatever the outcome;
    // `out` ends only when the transfer's reply says it is complete, so a cut link is never a short file.
    sink = new Writable({
      highWaterMark: 256 * 1024,
      write(chunk: Buffer, _enc, cb) {
        // Bytes past the listed size (a file still growing) are not ours to read now.
        if (wanted <= 0 || out.destroyed) return cb();
        const part = chunk.length > wanted ? chunk.subarray(0, wanted) : chunk;
        wanted -= part.length;
        if (out.write(part)) cb();
        else out.once('drain', () => cb());
      },
    });
    this.ready()
      .then((client) => client.downloadTo(sink, this.abs(path), start))
      .then(
        () => {
          settled = true;
          if (wanted > 0) out.destroy(Object.assign(new Error(`transfer of ${path} ended ${wanted} bytes short`), { code: 'ESHORTREAD' }));
          else out.end();
        },
        async (err) => {
          settled = true;
          // The reader left (and so closed the link): nobody is waiting for an explanation.
          if (out.destroyed) return;
          out.destroy(tidy(await this.explain(err, path)));
        },
      );
    return out;
  }

  /**
   * A RETR of a file that is gone can surface as a reset data socket (proftpd over TLS closes it
   * before its 550 reply is read): when a transfer fails that way, ask the server for the file's
   * size, so a vanished file is reported as missing rather than retried as a dropped link.
   */
  private async explain(err: unknown, path: string): Promise<Error> {
    if (classifyFtpError(err) !== 'connection') return err as Error;
    try {
      await (await this.ready()).size(this.abs(path));
    } catch (probe) {
      if (classifyFtpError(probe) === 'missing') return probe as Error;
    }
    return err as Error;
  }

  async rename(from: string, to: string): Promise<void> {
    await (await this.ready()).rename(this.abs(from), this.abs(to)).catch((err: unknown) => {
      throw tidy(err);
    });
  }

  async mkdir(dir: string): Promise<void> {
    const client = await this.ready();
    const abs = this.abs(dir);
    try {
      await client.send(`MKD ${abs}`);
    } catch (err) {
      // Servers answer 550 for an existing directory as for any refusal: it is fine when CWD into it works.
      if (!(err instanceof FTPError)) throw err;
      await client.cd(abs).catch(() => {
        throw err;
      });
    }
  }

  classify(err: unknown): 'missing' | 'connection' | 'other' {
    return classifyFtpError(err);
  }

  async close(): Promise<void> {
    this.ended = true;
    this.client.close();
  }
}

function tlsOptions(config: FtpConfig): ConnectionOptions {
  const opts: ConnectionOptions = { rejectUnauthorized: config.rejectUnauthorized };
  if (config.servername) opts.servername = config.servername;
  if (config.caFile) {
    try {
      opts.ca = readFileSync(config.caFile);
    } catch (err) {
      throw new ConfigError(`ftp caFile ${config.caFile} cannot be read: ${(err as Error).message}`, { file: config.caFile }, { cause: err });
    }
  }
  return opts;
}

async function login(config: FtpConfig, logger: Logger): Promise<{ client: FtpClient; home: string }> {
  const port = ftpPort(config);
  const where = `${config.secure === false ? 'ftp' : 'ftps'}://${config.username}@${config.host}:${port}`;
  const secureOptions = config.secure === false ? undefined : tlsOptions(config);
  if (secureOptions && !config.rejectUnauthorized) {
    logger.warn(`${where}: rejectUnauthorized is false, so the server certificate is not checked (no protection against a man in the middle)`);
  }
  const client = new Client(config.connectTimeoutMs);
  try {
    await client.access({ host: config.host, port, user: config.username, password: config.password ?? '', secure: config.secure, secureOptions });
    return { client, home: await client.pwd() };
  } catch (err) {
    client.close();
    const e = err as Error & { code?: unknown };
    if (err instanceof FTPError && e.code === 530) {
      throw new ConnectionError(`${where}: login refused for user ${config.username} (${oneLine(e.message)})`, {}, { cause: err, retryable: false });
    }
    const tls = /certificate|self.signed|TLS|SSL|handshake/i.test(e.message) ? 'TLS: ' : '';
    throw new ConnectionError(`${where}: ${tls}${oneLine(e.message)}`, {}, { cause: err });
  }
}

/**
 * Connects and logs in (plain, explicit `AUTH TLS` or implicit TLS), with
 * data connections protected too (`PROT P`) and their TLS session reused from
 * the control connection, as vsftpd's default `require_ssl_reuse` demands.
 * Fails with a ConnectionError of one line that never contains the password.
 */
export async function connectFtp(config: FtpConfig, logger: Logger): Promise<RemoteSession> {
  const first = await login(config, logger);
  return new FtpSession(first.client, first.home, () => login(config, logger));
}
