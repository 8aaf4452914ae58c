import { z } from 'zod';

const UNITS: Record<string, number> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000 };

/** `400d`, `12w`, `2y`, `36h` in milliseconds, or undefined when the text is not such a duration. */
export function parseRetentionDuration(text: string): number | undefined {
  const m = /^\s*(\d+)\s*([hdwy])\s*$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n * UNITS[m[2]] : undefined;
}

const duration = z
  .string()
  .refine((s) => parseRetentionDuration(s) !== undefined, { message: 'expected a duration such as 400d, 12w, 2y or 36h (a whole number and h, d, w or y)' });

/**
 * `retention:` on a source (every stream) or on one stream (wins over the source's).
 * `trackRecords`: raw track records (events) observed longer ago than this are deleted;
 * what they added to computed traits stays in the profile.
 */
export const retentionSchema = z
  .object({
    trackRecords: duration.optional().describe('Delete raw track records older than this (400d, 12w, 2y); their contribution to computed traits is kept.'),
  })
  .strict()
  .describe('How long raw records are kept (see docs/privacy.md#retention).');

export type RetentionConfig = z.infer<typeof retentionSchema>;
