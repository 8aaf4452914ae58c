import type { ConnectorContext, Logger } from '../plugin/types.js';

/** A context for one-off connector calls (check, discover) outside a run. */
export function testConnectorContext<C>(name: string, config: C, logger: Logger, signal?: AbortSignal): ConnectorContext<C> {
  return { name, config, logger, metrics: { count: () => undefined }, signal: signal ?? new AbortController().signal };
}
