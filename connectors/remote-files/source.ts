import type { z } from 'zod';
import type { ConnectorContext, SourceConnector } from '../../core/plugin/types.js';
import { parseStreamConfig } from '../file/read-files.js';
import { remoteStreamSchema, type RemoteStreamConfig } from './config.js';
import { checkRemote, discoverRemote } from './describe-remote.js';
import { readRemoteStreams, type RemoteReadOptions, type RemoteSourceConfig } from './read-remote.js';

/**
 * A file source over one remote protocol (sftp, ftp): the protocol gives its
 * config schema, its secrets and how to connect; listing, reading, state,
 * checks and discovery are the shared remote-file layer's.
 */
export function remoteFileSource<C extends RemoteSourceConfig>(def: {
  id: string;
  config: z.ZodType<C>;
  secrets: string[];
  options: (ctx: ConnectorContext<C>) => RemoteReadOptions;
}): SourceConnector<C, RemoteStreamConfig> {
  return {
    id: def.id,
    kind: 'source',
    incrementalWithoutCursor: true,
    spec: { config: def.config, stream: remoteStreamSchema, secrets: def.secrets },
    check(ctx, streams) {
      return checkRemote(ctx, def.options(ctx), streams);
    },
    discover(ctx, streams) {
      return discoverRemote(ctx, def.options(ctx), streams);
    },
    async *read(ctx, streams, state) {
      const parsed = streams.map((s) => ({ ...s, config: parseStreamConfig(remoteStreamSchema, def.id, ctx.name, s.name, s.config) }));
      yield* readRemoteStreams(ctx, parsed, state, def.options(ctx));
    },
  };
}
