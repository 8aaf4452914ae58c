import type { Logger } from '../../core/plugin/types.js';
import type { RemoteReadOptions } from '../remote-files/read-remote.js';
import { remoteFileSource } from '../remote-files/source.js';
import { FTP_SECRETS, ftpConfigSchema, ftpPort, type FtpConfig } from './config.js';
import { connectFtp } from './ftp-session.js';

export function ftpDisplay(config: FtpConfig): (p: string) => string {
  const scheme = config.secure === false ? 'ftp' : 'ftps';
  const port = ftpPort(config);
  const dflt = config.secure === 'implicit' ? 990 : 21;
  return (p) => `${scheme}://${config.host}${port === dflt ? '' : `:${port}`}/${p.replace(/^\/+/, '')}`;
}

function remoteOptions(config: FtpConfig, logger: Logger): RemoteReadOptions {
  return { connect: () => connectFtp(config, logger), display: ftpDisplay(config) };
}

/**
 * Source `ftp`: CSV, JSONL and XLSX files on an FTP or FTPS server, streamed
 * from the data connection, each file read once (by size and mtime), resumable
 * at a byte offset with `REST`. See README.md.
 */
export const ftpSource = remoteFileSource<FtpConfig>({
  id: 'ftp',
  config: ftpConfigSchema,
  secrets: FTP_SECRETS,
  options: (ctx) => remoteOptions(ctx.config, ctx.logger),
});
