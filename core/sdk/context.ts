import type { DestinationContext, Logger, RateGate } from '../plugin/types.js';
import { unlimitedGate } from '../delivery/rate-limit.js';

export interface KitLogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
}

/** A logger that keeps what the connector said, for failure reasons; it never prints (secrets stay out of the report). */
export function keepingLogger(): Logger & { entries: KitLogEntry[] } {
  const entries: KitLogEntry[] = [];
  const at = (level: KitLogEntry['level']) => (message: string) => {
    entries.push({ level, message });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A rate gate that never waits but remembers what the connector asked of it. */
export function recordingGate(): RateGate & { takes: number; pauses: number[] } {
  const gate = {
    takes: 0,
    pauses: [] as number[],
    async take(budget?: string, tokens?: number) {
      gate.takes++;
      await unlimitedGate.take(budget, tokens);
    },
    pause(ms: number) {
      gate.pauses.push(ms);
    },
  };
  return gate;
}

export function kitContext<C>(
  config: C,
  opts: { signal?: AbortSignal; baseDir?: string; rate?: RateGate; name?: string } = {},
): DestinationContext<C> {
  return {
    name: opts.name ?? 'kit',
    config,
    logger: keepingLogger(),
    metrics: { count: () => undefined },
    signal: opts.signal ?? new AbortController().signal,
    baseDir: opts.baseDir,
    rate: opts.rate ?? unlimitedGate,
  };
}

/** Refused by the schema or by `check`, with a message matching `message`? Returns the failure reason, or undefined. */
export async function refusalProblem(
  connector: { spec: { config: { safeParse(v: unknown): { success: true; data: unknown } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } } }; check(ctx: DestinationContext<unknown>): Promise<{ ok: boolean; message?: string }> },
  bad: { config: unknown; message: RegExp },
  ctx: { signal?: AbortSignal; baseDir?: string } = {},
): Promise<string | undefined> {
  const parsed = connector.spec.config.safeParse(bad.config);
  if (!parsed.success) {
    const text = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ');
    return bad.message.test(text) ? undefined : `refused by the schema, but the message "${text}" does not match /${bad.message.source}/`;
  }
  const res = await connector.check(kitContext(parsed.data, ctx));
  if (res.ok) return 'accepted by the schema and check reported ok';
  return bad.message.test(res.message ?? '') ? undefined : `check refused it, but its message "${res.message ?? ''}" does not match /${bad.message.source}/`;
}
