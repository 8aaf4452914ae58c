import type { Logger, SourceConnector } from '../../core/plugin/types.js';
import { parseStreamConfig } from '../file/read-files.js';
import { remoteStreamSchema, type RemoteStreamConfig } from '../remote-files/config.js';
import { checkRemote, discoverRemote } from '../remote-files/describe-remote.js';
import { readRemoteStreams, type RemoteReadOptions } from '../remote-files/read-remote.js';
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
 * Source `ftp`: CSV and JSONL files on an FTP or FTPS server, streamed from
 * the data connection, each file read once (by size and mtime), resumable at a
 * byte offset with `REST`. See README.md.
 */
export const ftpSource: SourceConnector<FtpConfig, RemoteStreamConfig> = {
  id: 'ftp',
  kind: 'source',
  incrementalWithoutCursor: true,
  spec: { config: ftpConfigSchema, stream: remoteStreamSchema, secrets: FTP_SECRETS },
  check(ctx, streams) {
    return checkRemote(ctx, remoteOptions(ctx.config, ctx.logger), streams);
  },
  discover(ctx, streams) {
    return discoverRemote(ctx, remoteOptions(ctx.config, ctx.logger), streams);
  },
  async *read(ctx, streams, state) {
    const parsed = streams.map((s) => ({ ...s, config: parseStreamConfig(remoteStreamSchema, 'ftp', ctx.name, s.name, s.config) }));
    yield* readRemoteStreams(ctx, parsed, state, remoteOptions(ctx.config, ctx.logger));
  },
};
