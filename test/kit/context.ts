import { expect } from 'vitest';
import type { CheckResult, ConnectorContext, ConnectorSpec, DestinationContext, Logger, Metrics } from '../../core/plugin/types.js';
import { unlimitedGate } from '../../core/delivery/rate-limit.js';
import { refusalProblem } from '../../core/sdk/context.js';

export interface CapturedLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields?: Record<string, unknown>;
}

/** A real logger that keeps what it was told, so tests can assert on warnings. */
export function captureLogger(): Logger & { entries: CapturedLog[] } {
  const entries: CapturedLog[] = [];
  const at = (level: CapturedLog['level']) => (message: string, fields?: Record<string, unknown>) => {
    entries.push({ level, message, fields });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export function countingMetrics(): Metrics & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return {
    counts,
    count(name, value = 1) {
      counts.set(name, (counts.get(name) ?? 0) + value);
    },
  };
}

/** A context for calling a connector directly; destinations get a rate gate that never waits. */
export function testContext<C>(config: C, name = 'test'): DestinationContext<C> {
  return { name, config, logger: captureLogger(), metrics: countingMetrics(), signal: new AbortController().signal, rate: unlimitedGate };
}

/** A bad config must be refused: by the connector's schema, or else by `check`, with a message that says why (the same rule as `tributary test connector`). */
export async function expectRefused<C>(
  connector: { spec: ConnectorSpec<C>; check(ctx: ConnectorContext<C>): Promise<CheckResult> },
  bad: { config: unknown; message: RegExp },
): Promise<void> {
  expect(await refusalProblem(connector as never, bad)).toBeUndefined();
}
