import { BSON } from 'mongodb';
import { z } from 'zod';

/**
 * Connector config: one block per MongoDB source in YAML.
 *
 * `url` is a secret (it usually carries `user:password@`); it is listed in
 * `spec.secrets` and is never echoed in errors or logs, see `describeServer`.
 */
export const mongodbConfigSchema = z
  .object({
    url: z
      .string()
      .min(1, 'expected a MongoDB connection string')
      .refine((u) => /^mongodb(\+srv)?:\/\//.test(u), 'expected a connection string starting with mongodb:// or mongodb+srv://')
      .describe('Connection string, e.g. mongodb://reader:${MONGO_PASSWORD}@db1:27017/?replicaSet=rs0. Secret.'),
    database: z.string().min(1, 'expected a database name').describe('Database holding the collections to read.'),
    batchSize: z.number().int().min(1).max(100_000).default(1000).describe('Documents per server round trip (find/getMore batchSize).'),
    checkpointEvery: z.number().int().min(1).default(1000).describe('Emit a resumable state after this many documents.'),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe('How long to wait for a server to answer (connect and server selection), in milliseconds.'),
  })
  .strict();

export type MongodbConfig = z.infer<typeof mongodbConfigSchema>;

/** Values a projection may hold: plain inclusion (1/true) or exclusion (0/false). */
const projectionValue = z.union([z.literal(0), z.literal(1), z.boolean()]);

/** A filter must be an object that Extended JSON can turn into BSON (`{"$oid": ...}`, `{"$date": ...}`). */
const filterSchema = z.record(z.string(), z.unknown()).superRefine((filter, ctx) => {
  try {
    BSON.EJSON.deserialize(filter);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not valid Extended JSON: ${(err as Error).message}` });
  }
});

/** Per-stream config: which collection, plus an optional server-side filter and projection. */
export const mongodbStreamSchema = z
  .object({
    collection: z.string().min(1, 'expected a collection name').describe('Collection (or view) to read.'),
    filter: filterSchema
      .optional()
      .describe('Query filter applied on the server, Extended JSON allowed: {"status": "active", "createdAt": {"$gte": {"$date": "2024-01-01T00:00:00Z"}}}.'),
    projection: z
      .record(z.string(), projectionValue)
      .optional()
      .describe('Fields to keep (1) or drop (0). Keeping fields adds `_id` and the cursor field; dropping them is refused.'),
  })
  .strict();

export type MongodbStreamConfig = z.infer<typeof mongodbStreamSchema>;
