import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `250ms`, `30s`, `5m`, `1h`, or a number of milliseconds; parsed to milliseconds. */
export const durationSchema = z
  .union([z.number(), z.string()])
  .transform((v, ctx) => {
    const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v) : undefined;
    const ms = typeof v === 'number' ? v : m ? Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]) : NaN;
    if (!Number.isInteger(ms) || ms < 1) {
      ctx.addIssue({ code: 'custom', message: `expected a duration such as 250ms, 30s, 5m or 1h, or a whole number of milliseconds (got ${JSON.stringify(v)})` });
      return z.NEVER;
    }
    return ms;
  })
  .describe('A duration: 250ms, 30s, 5m, 1h, or a number of milliseconds.');

export const DEFAULT_READ_IDLE_MS = 5 * 60_000;
export const DEFAULT_WRITE_MS = 2 * 60_000;

const readIdle = durationSchema.describe(
  'A source read that yields nothing (no record, no checkpoint) for this long is stopped and its sync fails; the next run resumes from the last checkpoint. Default 5m.',
);
const write = durationSchema.describe(
  "A destination write call that has not returned after this long is abandoned (its signal aborted) and counted as a network failure: retried per the destination's retry policy, the items stay queued. Default 2m.",
);

/** Top-level `timeouts:`, the default for every source and destination. */
export const globalTimeoutsSchema = z
  .object({ readIdle: readIdle.default(DEFAULT_READ_IDLE_MS), write: write.default(DEFAULT_WRITE_MS) })
  .strict()
  .describe('Deadlines for plugin calls that hang (a read that never yields, a write that never returns).');

/** A source's own `timeouts:` (overrides the top-level one). */
export const sourceTimeoutsSchema = z.object({ readIdle: readIdle.optional() }).strict();

/** A destination's own `timeouts:` (overrides the top-level one). */
export const destinationTimeoutsSchema = z.object({ write: write.optional() }).strict();

/** `5 min`, `30 s`, `250 ms`: a duration as messages print it. */
export function formatMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
