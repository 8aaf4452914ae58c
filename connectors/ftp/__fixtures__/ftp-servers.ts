import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Real Debian FTP servers for the integration tests, each in its own temp
 * folder with its own ports, run in the foreground as a child of the test:
 * proftpd (offers MLSD) and vsftpd (no MLSD, so basic-ftp falls back to LIST;
 * demands TLS session reuse on data connections, left at its default).
 *
 * The two Debian packages conflict (both provide ftp-server), so proftpd is
 * installed with apt and vsftpd's binary is unpacked from its .deb
 * (`apt-get download` + `dpkg-deb -x`) into VSFTPD_HOME. The install never
 * starts a system service: /usr/sbin/policy-rc.d answers 101 during it.
 */

export type TlsMode = 'none' | 'explicit' | 'implicit';

export interface TestFtpServer {
  kind: 'proftpd' | 'vsftpd';
  port: number;
  username: string;
  password: string;
  /** Local folder the FTP user sees as its root; tests create files here. */
  root: string;
  /** The server's self-signed certificate (PEM), to pin with `caFile`. */
  caFile: string;
  /** Every FTP command the server received so far (e.g. `REST 1234`). */
  commands(): string[];
  /** Kills the server's session processes (control and data connections drop); the listener stays. */
  dropSessions(): void;
  /** Session processes alive now (one or more per open client connection; 0 when every client has left). */
  sessionCount(): number;
  close(): Promise<void>;
}

export const VSFTPD_HOME = '/opt/tributary-test/vsftpd';
const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };

function which(bin: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Runs an apt command with service starts forbidden, so nothing is left listening on port 21. */
function apt(args: string[], cwd?: string): void {
  const policy = '/usr/sbin/policy-rc.d';
  const ours = !existsSync(policy);
  if (ours) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    execFileSync('apt-get', args, { env: APT_ENV, cwd, stdio: 'pipe', timeout: 600_000 });
  } finally {
    if (ours) rmSync(policy, { force: true });
  }
}

export function ensureProftpd(): string {
  const found = which('proftpd');
  if (found) return found;
  apt(['install', '-y', '--no-install-recommends', 'proftpd-basic', 'libwrap0']);
  return which('proftpd') ?? '/usr/sbin/proftpd';
}

export function ensureVsftpd(): string {
  const found = which('vsftpd');
  if (found) return found;
  const bin = join(VSFTPD_HOME, 'usr/sbin/vsftpd');
  if (existsSync(bin)) return bin;
  mkdirSync(VSFTPD_HOME, { recursive: true });
  chmodSync(VSFTPD_HOME, 0o777); // apt-get download runs as _apt and writes here
  apt(['download', 'vsftpd'], VSFTPD_HOME);
  const deb = readdirSync(VSFTPD_HOME).find((f) => f.startsWith('vsftpd_') && f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download vsftpd produced no .deb');
  execFileSync('dpkg-deb', ['-x', join(VSFTPD_HOME, deb), VSFTPD_HOME]);
  return bin;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Ten consecutive free ports for passive data connections, at a random base so parallel runs do not share them. */
async function passiveRange(): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + Math.floor(Math.random() * 30000);
    const ports = Array.from({ length: 10 }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return [base, base + 9];
  }
  throw new Error('no free passive port range');
}

async function waitForBanner(port: number, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`FTP server exited with ${child.exitCode}: ${logs()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`FTP server did not listen on ${port}: ${logs()}`);
}

function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'pipe' });
  chmodSync(key, 0o600);
  return { cert, key };
}

/** Every process below `pid` (sessions fork from the listener). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) if (pp === p) (out.push(c), walk(c));
  };
  walk(pid);
  return out;
}

function workDir(kind: string): { dir: string; root: string } {
  const dir = mkdtempSync(join(tmpdir(), `tributary-${kind}-${process.pid}-`));
  chmodSync(dir, 0o755);
  const root = join(dir, 'root');
  mkdirSync(root, { mode: 0o755 });
  chmodSync(root, 0o755);
  return { dir, root };
}

function run(bin: string, args: string[], dir: string, kind: TestFtpServer['kind'], port: number, root: string, extra: { username: string; password: string; caFile: string; commands: () => string[] }): Promise<TestFtpServer> {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
  child.stderr!.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
  const server: TestFtpServer = {
    kind,
    port,
    root,
    ...extra,
    sessionCount() {
      return descendants(child.pid!).filter((pid) => {
        try {
          return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
        } catch {
          return false;
        }
      }).length;
    },
    dropSessions() {
      for (const pid of descendants(child.pid!)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    async close() {
      server.dropSessions();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(3000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return waitForBanner(port, child, () => out).then(
    () => server,
    async (err) => {
      await server.close();
      throw err;
    },
  );
}

/** proftpd with a user of its own (AuthUserFile), chrooted to `root`, plain FTP and `AUTH TLS`, or implicit TLS only. */
export async function startProftpd(tls: Exclude<TlsMode, 'none'> = 'explicit'): Promise<TestFtpServer> {
  const bin = ensureProftpd();
  const { dir, root } = workDir('proftpd');
  const port = await freePort();
  const [pmin, pmax] = await passiveRange();
  const { cert, key } = selfSigned(dir);
  const username = 'feed';
  const password = `pw-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const hash = execFileSync('openssl', ['passwd', '-6', password], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'passwd'), `${username}:${hash}:65534:65534::${root}:/bin/false\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'group'), `nogroup:x:65534:\n`, { mode: 0o600 });
  const log = join(dir, 'commands.log');
  const conf = `
ServerName "tributary test"
ServerType standalone
DefaultServer on
Port ${port}
DefaultAddress 127.0.0.1
SocketBindTight on
UseIPv6 off
UseReverseDNS off
User nobody
Group nogroup
PidFile ${dir}/proftpd.pid
ScoreboardFile ${dir}/proftpd.scoreboard
WtmpLog off
DelayEngine off
MaxInstances 50
AuthOrder mod_auth_file.c
AuthUserFile ${dir}/passwd
AuthGroupFile ${dir}/group
RequireValidShell off
DefaultRoot ~
PassivePorts ${pmin} ${pmax}
AllowOverwrite on
TimeoutIdle 120
LogFormat commands "%m %J"
ExtendedLog ${log} ALL commands
ModulePath /usr/lib/proftpd
LoadModule mod_tls.c
TLSEngine on
TLSLog ${dir}/tls.log
TLSProtocol TLSv1.2 TLSv1.3
TLSRequired off
TLSRSACertificateFile ${cert}
TLSRSACertificateKeyFile ${key}
TLSVerifyClient off
${tls === 'implicit' ? 'TLSOptions UseImplicitSSL' : ''}
`;
  writeFileSync(join(dir, 'proftpd.conf'), conf);
  writeFileSync(log, '');
  chmodSync(log, 0o666);
  return run(bin, ['-n', '-q', '-c', join(dir, 'proftpd.conf')], dir, 'proftpd', port, root, {
    username,
    password,
    caFile: cert,
    commands: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
  });
}

/**
 * vsftpd in the foreground (listen=YES, background=NO) for the anonymous user
 * mapped to `ftp` (the system user the proftpd package creates) (vsftpd's local users need a PAM service in /etc/pam.d,
 * which a test should not write), chrooted to `root`, writes allowed so the
 * archive step can rename. TLS session reuse stays required (the default).
 */
export async function startVsftpd(tls: Exclude<TlsMode, 'none'> = 'explicit'): Promise<TestFtpServer> {
  const bin = ensureVsftpd();
  const { dir, root } = workDir('vsftpd');
  const port = await freePort();
  const [pmin, pmax] = await passiveRange();
  const { cert, key } = selfSigned(dir);
  const empty = join(dir, 'empty');
  mkdirSync(empty, { mode: 0o555 });
  const log = join(dir, 'vsftpd.log');
  const conf = `
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=${port}
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=${root}
ftp_username=ftp
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_mkdir_write_enable=YES
anon_other_write_enable=YES
anon_umask=022
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=${pmin}
pasv_max_port=${pmax}
secure_chroot_dir=${empty}
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
max_clients=50
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=${log}
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=NO
force_anon_data_ssl=NO
rsa_cert_file=${cert}
rsa_private_key_file=${key}
${tls === 'implicit' ? 'implicit_ssl=YES' : ''}
`;
  writeFileSync(join(dir, 'vsftpd.conf'), conf);
  return run(bin, [join(dir, 'vsftpd.conf')], dir, 'vsftpd', port, root, {
    username: 'anonymous',
    password: '',
    caFile: cert,
    commands: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .flatMap((l) => {
              const m = /FTP command: Client "[^"]*", "([^"]*)"/.exec(l);
              return m ? [m[1]] : [];
            })
        : [],
  });
}
