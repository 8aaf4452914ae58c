import { Command, InvalidArgumentError } from 'commander';
import type { Booted } from '../../container.js';
import { buildServer, openPgInbox } from '../../serve/setup.js';
import type { TributaryServer } from '../../serve/server.js';
import { globals, reportError, withEngine } from '../shared.js';

function port(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number from 0 to 65535');
  return n;
}

export interface ServeFlags {
  port?: number;
  host?: string;
}

/** Start the HTTP server of a booted config; the caller closes it. */
export async function startServer(booted: Booted, flags: ServeFlags): Promise<TributaryServer> {
  const server = buildServer(
    booted.loaded,
    booted.registry,
    booted.logger,
    {
      ...(flags.port !== undefined ? { port: flags.port } : {}),
      ...(flags.host !== undefined ? { host: flags.host } : {}),
    },
    await openPgInbox(booted.loaded),
  );
  const addr = await server.listen();
  booted.logger.info(`serve listening on http://${addr.address}:${addr.port}`, { port: addr.port });
  return server;
}

/** Resolves on the first SIGTERM or SIGINT, with its name. */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('Accept pushed events (Segment-compatible tracking API, webhook sources) into the store inbox; SIGTERM finishes in-flight requests, commits and exits')
    .option('--port <n>', 'port to listen on (default: serve.port, 8080)', port)
    .option('--host <address>', 'address to listen on (default: serve.host, 127.0.0.1)')
    .action(async (opts: ServeFlags, cmd: Command) => {
      try {
        await withEngine(cmd, async (booted) => {
          const server = await startServer(booted, opts);
          const signal = await untilSignal();
          booted.logger.info(`${signal}: finishing in-flight requests, then stopping`);
          await server.close();
          booted.logger.info('serve stopped');
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}
