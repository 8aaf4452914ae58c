import type { DestinationContext, Logger } from '../plugin/types.js';
import { unlimitedGate } from '../delivery/rate-limit.js';

/** A context for one-off connector calls (check, discover, an export) outside a run: no rate budget. */
export function testConnectorContext<C>(name: string, config: C, logger: Logger, signal?: AbortSignal): DestinationContext<C> {
  return { name, config, logger, metrics: { count: () => undefined }, signal: signal ?? new AbortController().signal, rate: unlimitedGate };
}
