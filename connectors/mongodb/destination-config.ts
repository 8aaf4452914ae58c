import { z } from 'zod';
import { mongodbConfigSchema } from './config.js';

/** A top-level field name: no `$` prefix, no dots, not `_id` (the profile id is). */
export const MONGO_FIELD_NAME = /^(?!_id$)[A-Za-z_][A-Za-z0-9_]{0,99}$/;
export const MONGO_FIELD_DESCRIBE = 'top-level field names: letters, digits and _, not starting with a digit, not _id';

const field = z.string().regex(MONGO_FIELD_NAME, `expected ${MONGO_FIELD_DESCRIBE}`);

/**
 * Destination config: one block per MongoDB destination in YAML. `url` is a
 * secret (it usually carries `user:password@`), as in the source.
 */
export const mongodbDestinationConfigSchema = z
  .object({
    url: mongodbConfigSchema.shape.url,
    database: z.string().min(1, 'expected a database name').describe('Database holding the collection.'),
    collection: z.string().min(1, 'expected a collection name').describe('Collection the profiles are written to, one document per profile, `_id` = profile id.'),
    profileField: z
      .union([field, z.literal(false)])
      .default('profile')
      .describe('With a mapping: field holding the whole profile document; false to leave it out. Without a mapping the document is the profile itself.'),
    mirror: z
      .boolean()
      .default(false)
      .describe('Delete the documents of profiles that no longer exist (merged away, forgotten, unmatched). Nothing else is ever deleted.'),
    deletedAtField: field
      .optional()
      .describe('Without mirror: set this date field when a profile is deleted instead of keeping the document untouched; the next upsert replaces the document without it.'),
    connectTimeoutMs: mongodbConfigSchema.shape.connectTimeoutMs,
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mirror && c.deletedAtField) ctx.addIssue({ code: 'custom', path: ['deletedAtField'], message: 'deletedAtField applies without mirror (mirror deletes the documents)' });
  });

export type MongodbDestinationConfig = z.output<typeof mongodbDestinationConfigSchema>;
