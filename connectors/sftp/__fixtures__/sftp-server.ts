import { timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readSync, readdirSync, renameSync, statSync, type Stats } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';
import ssh2 from 'ssh2';
import type { Attributes, Connection, ParsedKey, SFTPWrapper } from 'ssh2';
import { hostKeyFingerprint } from '../sftp-session.js';

const { Server, utils } = ssh2;
const STATUS = utils.sftp.STATUS_CODE;

export interface TestKeyPair {
  privateKey: string;
  publicKey: string;
  fingerprint: string;
}

/**
 * A fresh ed25519 pair. ssh2 1.17.0's own parseKey rejects about 1 in 200 of the public keys its
 * generateKeyPairSync writes ("Malformed OpenSSH public key": 15 of 3,000 here), which failed a
 * clean-clone CI run; such a pair is drawn again.
 */
export function makeKeyPair(): TestKeyPair {
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519');
    const parsed = utils.parseKey(pair.public);
    if (parsed instanceof Error || Array.isArray(parsed)) continue;
    return { privateKey: pair.private, publicKey: pair.public, fingerprint: hostKeyFingerprint((parsed as ParsedKey).getPublicSSH()) };
  }
  throw new Error('ssh2 generated 20 ed25519 key pairs it cannot parse back');
}

/** What the test server saw and what it is told to do wrong. */
export interface ServerControl {
  /** Every READ request: file (relative to the root) and offset. */
  reads: Array<{ path: string; offset: number; connection: number }>;
  /** Connections accepted so far (reads name the one they came on). */
  connections: number;
  /** Names added to every directory listing (path tricks), served as regular files of 10 bytes. */
  extraNames: string[];
  /** Files listed normally but answered "no such file" when opened. */
  vanish: Set<string>;
  /** Cut the connection (once) after it served this many bytes of file data. */
  dropAfterBytes?: number;
  /** Cut the connection (once) when a directory listing is asked for, before answering it. */
  dropNextListing?: boolean;
  /** Called after each directory listing is served, with the listing's number (1, 2, ...). */
  afterList?: (n: number) => void;
}

export interface TestSftpServer {
  port: number;
  hostKey: TestKeyPair;
  userKey: TestKeyPair;
  username: string;
  password: string;
  control: ServerControl;
  close(): Promise<void>;
}

function attrsOf(st: Stats): Attributes {
  return { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) };
}

const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

/**
 * A real SSH server (ssh2's Server) speaking SFTP v3 over TCP on 127.0.0.1,
 * serving `root`. Enough of the protocol for the source: open/read/close,
 * opendir/readdir, stat, rename, mkdir, realpath.
 */
export async function startSftpServer(root: string): Promise<TestSftpServer> {
  const hostKey = makeKeyPair();
  const userKey = makeKeyPair();
  const allowed = utils.parseKey(userKey.publicKey) as ParsedKey;
  const username = 'feed';
  const password = `pw-${process.pid}-secret`;
  const control: ServerControl = { reads: [], connections: 0, extraNames: [], vanish: new Set() };
  let listings = 0;
  const connections = new Set<Connection>();

  const local = (p: string): string | undefined => {
    const abs = resolve(root, p.replace(/^\/+/, ''));
    return abs === root || abs.startsWith(root + sep) ? abs : undefined;
  };
  const rel = (abs: string) => abs.slice(root.length + 1).split(sep).join('/');

  const serveSftp = (sftp: SFTPWrapper, conn: Connection, connection: number) => {
    const handles = new Map<number, { fd?: number; path: string; dir?: string[] }>();
    let next = 1;
    let served = 0;
    const newHandle = (h: { fd?: number; path: string; dir?: string[] }) => {
      const id = next++;
      handles.set(id, h);
      const b = Buffer.alloc(4);
      b.writeUInt32BE(id);
      return b;
    };
    const get = (b: Buffer) => (b.length === 4 ? handles.get(b.readUInt32BE(0)) : undefined);
    sftp.on('REALPATH', (id, p) => sftp.name(id, [{ filename: p.startsWith('/') ? p : `/${p}`, longname: p, attrs: {} as Attributes }]));
    sftp.on('OPEN', (id, filename) => {
      const abs = local(filename);
      if (!abs) return sftp.status(id, STATUS.PERMISSION_DENIED);
      if (control.vanish.has(rel(abs))) return sftp.status(id, STATUS.NO_SUCH_FILE);
      try {
        sftp.handle(id, newHandle({ fd: openSync(abs, 'r'), path: rel(abs) }));
      } catch {
        sftp.status(id, STATUS.NO_SUCH_FILE);
      }
    });
    sftp.on('READ', (id, handle, offset, length) => {
      const h = get(handle);
      if (!h || h.fd === undefined) return sftp.status(id, STATUS.FAILURE);
      control.reads.push({ path: h.path, offset, connection });
      const buf = Buffer.alloc(length);
      const n = readSync(h.fd, buf, 0, length, offset);
      if (n === 0) return sftp.status(id, STATUS.EOF);
      if (control.dropAfterBytes !== undefined && served + n > control.dropAfterBytes) {
        control.dropAfterBytes = undefined;
        conn.end();
        return;
      }
      served += n;
      sftp.data(id, buf.subarray(0, n));
    });
    sftp.on('FSTAT', (id, handle) => {
      const h = get(handle);
      if (!h || h.fd === undefined) return sftp.status(id, STATUS.FAILURE);
      sftp.attrs(id, attrsOf(fstatSync(h.fd)));
    });
    const statPath = (id: number, p: string) => {
      const abs = local(p);
      try {
        if (!abs) throw new Error('outside');
        sftp.attrs(id, attrsOf(statSync(abs)));
      } catch {
        sftp.status(id, STATUS.NO_SUCH_FILE);
      }
    };
    sftp.on('STAT', statPath);
    sftp.on('LSTAT', statPath);
    sftp.on('OPENDIR', (id, p) => {
      const abs = local(p);
      try {
        if (!abs || !statSync(abs).isDirectory()) throw new Error('not a directory');
        sftp.handle(id, newHandle({ path: abs, dir: [...readdirSync(abs), ...control.extraNames] }));
      } catch {
        sftp.status(id, STATUS.NO_SUCH_FILE);
      }
    });
    sftp.on('READDIR', (id, handle) => {
      const h = get(handle);
      if (!h?.dir) return sftp.status(id, STATUS.FAILURE);
      if (control.dropNextListing) {
        control.dropNextListing = false;
        conn.end();
        return;
      }
      if (h.dir.length === 0) return sftp.status(id, STATUS.EOF);
      const names = h.dir.splice(0, h.dir.length).map((name) => {
        let attrs: Attributes;
        try {
          attrs = attrsOf(statSync(join(h.path, name)));
        } catch {
          attrs = { mode: 0o100644, uid: 0, gid: 0, size: 10, atime: 0, mtime: 0 };
        }
        return { filename: name, longname: name, attrs };
      });
      sftp.name(id, names);
      control.afterList?.(++listings);
    });
    sftp.on('CLOSE', (id, handle) => {
      const h = get(handle);
      if (h?.fd !== undefined) closeSync(h.fd);
      handles.delete(handle.readUInt32BE(0));
      sftp.status(id, STATUS.OK);
    });
    sftp.on('RENAME', (id, from, to) => {
      const a = local(from);
      const b = local(to);
      try {
        if (!a || !b) throw new Error('outside');
        renameSync(a, b);
        sftp.status(id, STATUS.OK);
      } catch {
        sftp.status(id, STATUS.FAILURE);
      }
    });
    sftp.on('MKDIR', (id, p) => {
      const abs = local(p);
      try {
        if (!abs) throw new Error('outside');
        mkdirSync(abs);
        sftp.status(id, STATUS.OK);
      } catch {
        sftp.status(id, STATUS.FAILURE);
      }
    });
  };

  const server = new Server({ hostKeys: [hostKey.privateKey] }, (conn) => {
    connections.add(conn);
    const number = ++control.connections;
    conn.on('close', () => connections.delete(conn));
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      if (ctx.username !== username) return ctx.reject();
      if (ctx.method === 'password') return same(Buffer.from(ctx.password), Buffer.from(password)) ? ctx.accept() : ctx.reject();
      if (ctx.method === 'publickey') {
        if (ctx.key.algo !== allowed.type || !same(ctx.key.data, allowed.getPublicSSH())) return ctx.reject();
        if (!ctx.signature) return ctx.accept();
        return allowed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) ? ctx.accept() : ctx.reject();
      }
      ctx.reject(['password', 'publickey']);
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => serveSftp(acceptSftp(), conn, number));
      });
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hostKey,
    userKey,
    username,
    password,
    control,
    close: () =>
      new Promise<void>((res) => {
        for (const c of connections) c.end();
        server.close(() => res());
      }),
  };
}
