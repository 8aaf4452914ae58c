import type { RemoteReadOptions } from '../remote-files/read-remote.js';
import { remoteFileSource } from '../remote-files/source.js';
import { SFTP_SECRETS, sftpConfigSchema, type SftpConfig } from './config.js';
import { connectSftp } from './sftp-session.js';

function remoteOptions(config: SftpConfig): RemoteReadOptions {
  return {
    connect: () => connectSftp(config),
    display: (p) => `sftp://${config.host}${config.port === 22 ? '' : `:${config.port}`}/${p.replace(/^\/+/, '')}`,
  };
}

/**
 * Source `sftp`: CSV, JSONL and XLSX files on an SSH server, streamed from the
 * socket, each file read once (by size and mtime), resumable at a byte offset.
 * See README.md.
 */
export const sftpSource = remoteFileSource<SftpConfig>({
  id: 'sftp',
  config: sftpConfigSchema,
  secrets: SFTP_SECRETS,
  options: (ctx) => remoteOptions(ctx.config),
});
