import ftp from 'basic-ftp';
import { describe, expect, it } from 'vitest';
import { ftpConfigSchema, ftpPort } from './config.js';
import { classifyFtpError, tidy, toEntries } from './ftp-session.js';
import { ftpDisplay } from './source.js';

const { FTPError, parseList } = ftp;

/** A client that answers MDTM from a table, or 502 when the server has no MDTM. */
function mdtm(times: Record<string, string> | 'unsupported') {
  const asked: string[] = [];
  return {
    asked,
    async lastMod(path: string): Promise<Date> {
      asked.push(path);
      if (times === 'unsupported' || !(path in times)) throw new FTPError({ code: 502, message: '502 Command not implemented.' });
      return new Date(times[path]);
    },
  };
}

describe('ftp config', () => {
  it('defaults the port by TLS mode and accepts the three modes only', () => {
    const plain = ftpConfigSchema.parse({ host: 'h' });
    expect(ftpPort(plain)).toBe(21);
    expect(plain.username).toBe('anonymous');
    expect(ftpPort(ftpConfigSchema.parse({ host: 'h', secure: 'implicit' }))).toBe(990);
    expect(ftpPort(ftpConfigSchema.parse({ host: 'h', secure: true, port: 2121 }))).toBe(2121);
    expect(ftpConfigSchema.safeParse({ host: 'h', secure: 'explicit' }).success).toBe(false);
    expect(ftpConfigSchema.safeParse({ host: 'h', pasword: 'typo' }).success).toBe(false);
  });

  it('names files by scheme, host and a non-default port only', () => {
    expect(ftpDisplay(ftpConfigSchema.parse({ host: 'h' }))('drops/a.csv')).toBe('ftp://h/drops/a.csv');
    expect(ftpDisplay(ftpConfigSchema.parse({ host: 'h', secure: true, port: 2121 }))('/drops/a.csv')).toBe('ftps://h:2121/drops/a.csv');
    expect(ftpDisplay(ftpConfigSchema.parse({ host: 'h', secure: 'implicit' }))('a.csv')).toBe('ftps://h/a.csv');
  });
});

describe('ftp errors', () => {
  it('tells a missing file from a dropped link from anything else', () => {
    expect(classifyFtpError(new FTPError({ code: 550, message: '550 a.csv: No such file or directory' }))).toBe('missing');
    expect(classifyFtpError(new FTPError({ code: 426, message: '426 Transfer aborted' }))).toBe('connection');
    expect(classifyFtpError(new FTPError({ code: 421, message: '421 Service not available' }))).toBe('connection');
    expect(classifyFtpError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe('connection');
    expect(classifyFtpError(new Error('Server sent FIN packet unexpectedly, closing connection.'))).toBe('connection');
    expect(classifyFtpError(new FTPError({ code: 530, message: '530 Login incorrect.' }))).toBe('other');
    expect(classifyFtpError(new Error('Unexpected token'))).toBe('other');
  });

  it('makes multi-line OpenSSL messages one line, keeping the error and its code', () => {
    const err = Object.assign(new Error('80AC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:ssl3_record.c:354:\n (control socket)'), { code: 'ERR_SSL_WRONG_VERSION_NUMBER' });
    expect(tidy(err)).toBe(err);
    expect(err.message).toBe('80AC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:ssl3_record.c:354: (control socket)');
    expect(err.code).toBe('ERR_SSL_WRONG_VERSION_NUMBER');
  });
});

describe('ftp listing entries', () => {
  it('MLSD: size and exact UTC mtime from the facts, no MDTM asked; directories are not files', async () => {
    const infos = parseList(
      ['type=file;size=1234;modify=20261130231507.250; a.csv', 'type=dir;modify=20261130231507; archive', 'type=cdir; .'].join('\r\n'),
    );
    const client = mdtm({});
    const entries = await toEntries(client, '/drops', infos);
    expect(entries).toEqual([
      { name: 'a.csv', size: 1234, mtimeMs: Date.parse('2026-11-30T23:15:07.250Z'), isFile: true },
      { name: 'archive', size: 0, mtimeMs: Date.parse('2026-11-30T23:15:07Z'), isFile: false },
    ]);
    expect(client.asked).toEqual([]);
  });

  it('LIST: the minute-precision date is replaced by MDTM, asked per file only', async () => {
    const infos = parseList(
      ['-rw-r--r--    1 0        0            7 Nov 30 23:15 a.csv', 'drwxrwxrwx    2 0        0         4096 Nov 30 23:15 archive'].join('\r\n'),
    );
    const client = mdtm({ '/drops/a.csv': '2026-11-30T23:15:07Z' });
    const entries = await toEntries(client, '/drops', infos);
    expect(entries.find((e) => e.name === 'a.csv')).toEqual({ name: 'a.csv', size: 7, mtimeMs: Date.parse('2026-11-30T23:15:07Z'), isFile: true });
    expect(entries.find((e) => e.name === 'archive')?.isFile).toBe(false);
    expect(client.asked).toEqual(['/drops/a.csv']);
  });

  it('LIST without MDTM: falls back to the listed date, and a name the loop refuses is never sent to the server', async () => {
    const infos = parseList(['-rw-r--r--    1 0        0            7 Mar  4  2026 a.csv', '-rw-r--r--    1 0        0            9 Mar  4  2026 x\\..\\evil.csv'].join('\r\n'));
    const client = mdtm('unsupported');
    const entries = await toEntries(client, '/drops', infos);
    expect(entries[0]).toMatchObject({ name: 'a.csv', size: 7, isFile: true });
    expect(entries[0].mtimeMs).toBe(Date.parse(infos[0].rawModifiedAt));
    expect(entries[0].mtimeMs).toBeGreaterThan(0);
    expect(entries[1].name).toBe('x\\..\\evil.csv');
    expect(client.asked).toEqual(['/drops/a.csv']);
  });
});
