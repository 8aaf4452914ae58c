import type { ConnectorContext, Logger, Metrics } from '../../core/plugin/types.js';

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

export function testContext<C>(config: C, name = 'test'): ConnectorContext<C> {
  return { name, config, logger: captureLogger(), metrics: countingMetrics(), signal: new AbortController().signal };
}
