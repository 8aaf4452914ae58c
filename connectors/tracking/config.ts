import { z } from 'zod';

/** A tracking source: the write keys its senders use (secrets; several during a key rotation). */
export const trackingConfig = z
  .object({
    writeKeys: z
      .array(z.string().min(8, 'expected a write key of at least 8 characters'))
      .min(1, 'expected at least one write key')
      .describe('Write keys senders present (basic-auth user name or `writeKey` in the body). Put them in ${ENV} or ${file:...}.'),
    drainBatch: z.number().int().min(1).max(50_000).default(5000).describe('Inbox rows read per page when the source is drained.'),
  })
  .strict();

export type TrackingConfig = z.infer<typeof trackingConfig>;
