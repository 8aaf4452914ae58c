import type { Readable } from 'node:stream';

/** One entry of a remote directory listing. */
export interface RemoteEntry {
  name: string;
  size: number;
  mtimeMs: number;
  isFile: boolean;
}

/**
 * One open connection to a file server, as the shared read loop needs it.
 * Implement it to add a protocol (the `sftp` and `ftp` sources each do);
 * listing, streaming, resuming and archiving then come for free.
 *
 * @example
 * const session = await connectSftp(config); // a RemoteSession
 * const bytes = session.read('/drops/a.csv', 1024, 4096); // bytes 1024..4095
 */
export interface RemoteSession {
  /** Entries of a directory; a missing one rejects with an error `classify` calls 'missing'. */
  list(dir: string): Promise<RemoteEntry[]>;
  /** Bytes [start, end) of a file, streamed from the socket. */
  read(path: string, start: number, end: number): Readable;
  rename(from: string, to: string): Promise<void>;
  /** Creates a directory; one that exists already is fine. */
  mkdir(dir: string): Promise<void>;
  /** What kind of failure an error is: the file is gone, the connection dropped, or something else. */
  classify(err: unknown): 'missing' | 'connection' | 'other';
  close(): Promise<void>;
}

/** A remote name as a listing returns it is used only when it is a plain file name. */
export function unsafeNameReason(name: string): string | undefined {
  if (name.includes('\0')) return 'contains a NUL byte';
  if (name.includes('/') || name.includes('\\')) return name.startsWith('/') ? 'is an absolute path' : 'contains a path separator';
  if (name === '..' || name === '.') return 'is a directory reference';
  return undefined;
}

export function joinRemote(dir: string, name: string): string {
  if (dir === '' || dir === '.') return name;
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}
