import type { SourceConnector } from '../../core/plugin/types.js';
import { parseStreamConfig } from '../file/read-files.js';
import { remoteStreamSchema, type RemoteStreamConfig } from '../remote-files/config.js';
import { checkRemote, discoverRemote } from '../remote-files/describe-remote.js';
import { readRemoteStreams, type RemoteReadOptions } from '../remote-files/read-remote.js';
import { SFTP_SECRETS, sftpConfigSchema, type SftpConfig } from './config.js';
import { connectSftp } from './sftp-session.js';

function remoteOptions(config: SftpConfig): RemoteReadOptions {
  return {
    connect: () => connectSftp(config),
    display: (p) => `sftp://${config.host}${config.port === 22 ? '' : `:${config.port}`}/${p.replace(/^\/+/, '')}`,
  };
}

/**
 * Source `sftp`: CSV and JSONL files on an SSH server, streamed from the
 * socket, each file read once (by size and mtime), resumable at a byte
 * offset. See README.md.
 */
export const sftpSource: SourceConnector<SftpConfig, RemoteStreamConfig> = {
  id: 'sftp',
  kind: 'source',
  incrementalWithoutCursor: true,
  spec: { config: sftpConfigSchema, stream: remoteStreamSchema, secrets: SFTP_SECRETS },
  check(ctx, streams) {
    return checkRemote(ctx, remoteOptions(ctx.config), streams);
  },
  discover(ctx, streams) {
    return discoverRemote(ctx, remoteOptions(ctx.config), streams);
  },
  async *read(ctx, streams, state) {
    const parsed = streams.map((s) => ({ ...s, config: parseStreamConfig(remoteStreamSchema, 'sftp', ctx.name, s.name, s.config) }));
    yield* readRemoteStreams(ctx, parsed, state, remoteOptions(ctx.config));
  },
};
