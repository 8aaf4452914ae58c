import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import { ConnectionError } from '../../core/errors.js';
import type { RemoteEntry, RemoteSession } from '../remote-files/remote-fs.js';
import type { SftpConfig } from './config.js';

const { Client, utils } = ssh2;
const STATUS = utils.sftp.STATUS_CODE;

/** A host key as OpenSSH prints it: SHA256:<base64 without padding>. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** Errors of a dropped or refused connection, as opposed to a file the server answered about. */
function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; level?: unknown; message?: unknown };
  if (typeof e?.code === 'number') return e.code === STATUS.NO_CONNECTION || e.code === STATUS.CONNECTION_LOST;
  if (typeof e?.code === 'string') return ['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE'].includes(e.code);
  return typeof e?.message === 'string' && /no response|not connected|channel|closed|ended|connection/i.test(e.message);
}

/** What a request sent on a closed channel fails with (ssh2 would buffer it forever). */
const gone = () => Object.assign(new Error('connection lost: the SFTP channel is closed'), { code: 'ECONNRESET' });

class SftpSession implements RemoteSession {
  /** Set once the channel or the connection closed; callbacks of requests still waiting. */
  private closed = false;
  private readonly waiting = new Set<() => void>();

  /**
   * ssh2 (1.17.0) answers requests still open when the channel closes with "No response
   * from server", but a request sent after that (a read stream's next READ, the second half
   * of a split READ, the CLOSE after a failed READDIR) is buffered and never answered: the
   * caller would wait forever. So the session notes the close and fails whatever is waiting.
   */
  constructor(
    private readonly client: InstanceType<typeof Client>,
    private readonly sftp: SFTPWrapper,
  ) {
    const onClose = () => {
      if (this.closed) return;
      this.closed = true;
      for (const f of [...this.waiting]) f();
      this.waiting.clear();
    };
    sftp.once('close', onClose);
    sftp.once('end', onClose);
    client.once('close', onClose);
    client.once('end', onClose);
  }

  /** Calls `fail` if the session closes before `done` is called; at once if it is closed already. */
  private watch(fail: () => void): () => void {
    if (this.closed) {
      fail();
      return () => undefined;
    }
    this.waiting.add(fail);
    return () => this.waiting.delete(fail);
  }

  /**
   * opendir / readdir / close by hand: ssh2's readdir(path) waits for the CLOSE of
   * its handle after a failed READDIR, and on a dropped link that answer never
   * comes, so the listing would hang instead of failing (ssh2 1.17.0).
   */
  /** A request that fails with a connection error when the session closes before it is answered. */
  private request<T>(send: (resolve: (v: T) => void, reject: (e: unknown) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = this.watch(() => reject(gone()));
      if (this.closed) return;
      send(
        (v) => {
          done();
          resolve(v);
        },
        (e) => {
          done();
          reject(e);
        },
      );
    });
  }

  list(dir: string): Promise<RemoteEntry[]> {
    return this.request<RemoteEntry[]>((resolve, reject) => {
      this.sftp.opendir(dir, (err, handle) => {
        if (err) return reject(err);
        const entries: RemoteEntry[] = [];
        const close = () => {
          try {
            this.sftp.close(handle, () => undefined);
          } catch {
            // The channel is gone: nothing to close.
          }
        };
        const next = () =>
          this.sftp.readdir(handle, (e, list) => {
            if (e && (e as { code?: unknown }).code === STATUS.EOF) {
              close();
              return resolve(entries);
            }
            if (e) {
              close();
              return reject(e);
            }
            for (const f of list) {
              entries.push({ name: f.filename, size: f.attrs.size, mtimeMs: f.attrs.mtime * 1000, isFile: (f.attrs.mode & S_IFMT) === S_IFREG });
            }
            next();
          });
        next();
      });
    });
  }

  read(path: string, start: number, end: number): Readable {
    if (end <= start) {
      // An empty range: sftp createReadStream would read to the end of the file instead.
      return Readable.from([]);
    }
    if (this.closed) {
      const dead = new Readable({ read() {} });
      process.nextTick(() => dead.destroy(gone()));
      return dead;
    }
    const stream = this.sftp.createReadStream(path, { start, end: end - 1, highWaterMark: 256 * 1024 });
    // After a reader has left (a break, a dropped link), ssh2 may still report the pending close as an error.
    stream.on('error', () => undefined);
    const done = this.watch(() => {
      if (!stream.destroyed && !stream.readableEnded) stream.destroy(gone());
    });
    stream.once('close', done);
    return stream;
  }

  rename(from: string, to: string): Promise<void> {
    return this.request<void>((resolve, reject) => this.sftp.rename(from, to, (err) => (err ? reject(err) : resolve())));
  }

  mkdir(dir: string): Promise<void> {
    return this.request<void>((resolve, reject) =>
      this.sftp.mkdir(dir, (err) => {
        if (!err) return resolve();
        // Servers answer FAILURE (not a dedicated code) for an existing directory: check it is one.
        this.sftp.stat(dir, (e2, st) => (!e2 && (st.mode & S_IFMT) === 0o040000 ? resolve() : reject(err)));
      }),
    );
  }

  classify(err: unknown): 'missing' | 'connection' | 'other' {
    const code = (err as { code?: unknown })?.code;
    if (code === STATUS.NO_SUCH_FILE || code === 'ENOENT') return 'missing';
    return isConnectionError(err) ? 'connection' : 'other';
  }

  async close(): Promise<void> {
    this.client.end();
  }
}

/**
 * Opens an SSH connection with the pinned host key and starts the SFTP
 * subsystem. Fails with a ConnectionError of one line that names the host key
 * seen when it is not the pinned one, and never contains a credential.
 */
export function connectSftp(config: SftpConfig): Promise<RemoteSession> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let seen: string | undefined;
    let settled = false;
    const where = `sftp://${config.username}@${config.host}:${config.port}`;
    const fail = (message: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(new ConnectionError(message, {}, { cause }));
    };
    client.on('error', (err: Error & { level?: string }) => {
      if (seen !== undefined && seen !== config.hostKey) {
        return fail(`${where}: host key ${seen} is not the pinned one (hostKey: ${config.hostKey}); refused`, err);
      }
      if (err.level === 'client-authentication') return fail(`${where}: authentication failed for user ${config.username} (wrong password or key?)`, err);
      if (err.level === 'client-timeout') return fail(`${where}: no SSH handshake within ${config.connectTimeoutMs} ms`, err);
      fail(`${where}: ${err.message.split('\n')[0]}`, err);
    });
    client.on('close', () => fail(`${where}: connection closed before SFTP was ready`));
    client.on('ready', () => {
      client.sftp((err, sftp) => {
        if (err) return fail(`${where}: SFTP subsystem refused: ${err.message}`, err);
        settled = true;
        resolve(new SftpSession(client, sftp));
      });
    });
    try {
      client.connect({
        host: config.host,
        port: config.port,
        username: config.username,
        password: config.password,
        privateKey: config.privateKey,
        passphrase: config.passphrase,
        readyTimeout: config.connectTimeoutMs,
        keepaliveInterval: 10_000,
        hostVerifier: (key: Buffer) => {
          seen = hostKeyFingerprint(key);
          return seen === config.hostKey;
        },
      });
    } catch (err) {
      // A malformed private key throws synchronously; its text must not reach the message.
      fail(`${where}: cannot use the private key (${(err as Error).message.replace(/-----BEGIN[\s\S]*/, '').split('\n')[0]})`, err);
    }
  });
}
