import { z } from 'zod';
import { retentionSchema } from '../privacy/retention-config.js';
import { destinationTimeoutsSchema, globalTimeoutsSchema, sourceTimeoutsSchema } from './timeouts.js';

/**
 * The one source of truth for tributary.yaml: validated at load time, the
 * TypeScript types are inferred from it, and config/tributary.schema.json is
 * generated from it for editors.
 */

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]*$/i, 'expected a name of letters, digits, "-" or "_"');

const cron = z.string().min(1, 'expected a cron expression such as "*/15 * * * *"');

/** `phone: { field: phone, regionField: country }` or just `email: email`. */
const identifierMapping = z.union([
  z.string().min(1),
  z
    .object({
      field: z.string().min(1).describe('Source field holding the value (dotted path for nested fields).'),
      region: z.string().length(2).optional().describe('Default ISO country for phone numbers written nationally.'),
      regionField: z.string().optional().describe('Source field with the ISO country of this record.'),
    })
    .strict(),
]);

const eventMapping = z
  .object({
    name: z.string().optional().describe('Fixed event name, e.g. order_completed.'),
    nameField: z.string().optional().describe('Source field holding the event name.'),
    properties: z.record(z.string(), z.string()).default({}).describe('property name -> source field'),
    revenue: z.string().optional(),
    currency: z.string().optional(),
  })
  .strict()
  .refine((e) => e.name || e.nameField, { message: 'expected `name` or `nameField`' });

export const mappingSchema = z
  .object({
    identifiers: z
      .record(z.string(), identifierMapping)
      .default({})
      .describe('identifier type (email, phone, external_id.<namespace>, anonymous_id, custom) -> source field'),
    traits: z.record(z.string(), z.string()).default({}).describe('trait name -> source field'),
    observedAt: z.string().optional().describe('Source field with the time the record describes; default: now.'),
    event: eventMapping.optional(),
    consent: z.record(z.string(), z.string()).optional().describe('purpose -> source field (true/false/yes/no/1/0)'),
  })
  .strict();

/** Order of day, month and year in dates written with `.`, `/` or `-` (ISO 8601 and Unix times are read as they are). */
const dateFormat = z
  .enum(['DD.MM.YYYY', 'DD/MM/YYYY', 'DD-MM-YYYY', 'MM/DD/YYYY', 'MM-DD-YYYY', 'MM.DD.YYYY', 'YYYY-MM-DD', 'YYYY/MM/DD', 'YYYY.MM.DD'])
  .describe('How dates such as 01.05.2024 are read (day first, month first, or year first). Without it, a date whose day and month could be swapped is refused with a warning.');

export const streamSchema = z
  .object({
    name,
    kind: z.enum(['identify', 'track']).default('identify'),
    mode: z.enum(['incremental', 'full_refresh']).default('incremental'),
    primaryKey: z.union([z.string(), z.array(z.string()).min(1)]).describe('Field(s) that identify a source row.'),
    cursor: z.string().min(1, 'expected a column name').optional(),
    dateFormat: dateFormat.optional(),
    config: z.record(z.string(), z.unknown()).default({}).describe("The connector's per-stream options."),
    mapping: mappingSchema,
    transforms: z
      .array(z.object({ use: z.string(), options: z.record(z.string(), z.unknown()).default({}) }).strict())
      .default([]),
    retention: retentionSchema.optional(),
  })
  .strict();

const retrySchema = z
  .object({
    attempts: z.number().int().min(1).max(50).default(5),
    initialDelayMs: z.number().int().min(0).default(500),
    maxDelayMs: z.number().int().min(0).default(60_000),
  })
  .strict();

export const sourceSchema = z
  .object({
    name,
    connector: z.string().min(1).describe('Connector id, e.g. csv, jsonl, mysql, postgres, mongodb.'),
    plugin: z.string().optional().describe('Where the connector comes from: a path or npm package. Default: built-in.'),
    config: z.record(z.string(), z.unknown()).default({}),
    schedule: cron.optional(),
    batchSize: z.number().int().min(1).max(100_000).default(5000),
    retry: retrySchema.prefault({}),
    timeouts: sourceTimeoutsSchema.optional(),
    streams: z.array(streamSchema).min(1, 'expected at least one stream'),
    retention: retentionSchema.optional(),
  })
  .strict();

const rateBudgetSchema = z
  .object({
    perSecond: z.number().positive().optional(),
    perMinute: z.number().positive().optional(),
    perHour: z.number().positive().optional(),
  })
  .strict();

const deliveryRetrySchema = retrySchema
  .extend({
    deadLetterAfter: z
      .object({
        runs: z.number().int().min(1).default(3).describe('Delivery runs in which an item failed every attempt.'),
        minutes: z.number().min(0).default(180).describe('Time since its first failure.'),
      })
      .strict()
      .prefault({})
      .describe('An item still failing after every attempt stays queued; once both limits are past it is dead-lettered.'),
  })
  .strict();

export const destinationSchema = z
  .object({
    name,
    connector: z.string().min(1),
    plugin: z.string().optional(),
    config: z.record(z.string(), z.unknown()).default({}),
    trigger: z.union([z.literal('after-sync'), z.literal('manual'), z.object({ schedule: cron }).strict()]).default('after-sync'),
    mapping: z
      .record(z.string(), z.string().min(1))
      .optional()
      .describe('Output name -> profile path (id, traits.x, computed.x, consent.x, identifiers.email, identifiers.external_id.crm, sha256(identifiers.email)).'),
    where: z.string().min(1).optional().describe('Which profiles go out, e.g. exists(identifiers.email) and traits.country = "FR".'),
    events: z.boolean().default(false).describe('Also send track events (destinations that take events: brevo, webhook).'),
    onUnmatch: z
      .enum(['delete', 'keep'])
      .default('delete')
      .describe('A profile that stops matching `where`: delete it at the destination (when it can delete) or keep it there.'),
    batchSize: z.number().int().min(1).max(10_000).default(500),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(16)
      .default(1)
      .describe('Write calls in flight at once (each settles on its own; the rate budget still paces every request).'),
    maxBatchBytes: z.number().int().min(1024).optional().describe('Most payload bytes per request; the connector may set a lower limit.'),
    rateLimit: z
      .union([rateBudgetSchema, z.record(z.string(), rateBudgetSchema)])
      .optional()
      .describe("Request budget ({ perSecond, perHour }), or one per named budget of the connector; default: the vendor's documented limits."),
    retry: deliveryRetrySchema.prefault({}),
    timeouts: destinationTimeoutsSchema.optional(),
    purpose: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, 'expected a lowercase purpose name of letters, digits or "_"')
      .optional()
      .describe('Consent purpose this destination serves (email_marketing, ...): only profiles with a grant are sent; a withdrawal is propagated (docs/privacy.md).'),
  })
  .strict();

export const privacySchema = z
  .object({
    purposes: z
      .array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a lowercase purpose name of letters, digits or "_"'))
      .default([])
      .describe('Consent purposes mappings and destinations may use, besides email_marketing, sms_marketing, advertising and analytics.'),
  })
  .strict();

const blockedSchema = z
  .object({
    exact: z.array(z.string()).default([]),
    regex: z.array(z.string()).default([]),
  })
  .strict();

export const traitRuleSchema = z
  .object({
    strategy: z.enum([
      'most_recent',
      'first_seen',
      'source_priority',
      'most_frequent',
      'non_empty',
      'sum',
      'min',
      'max',
      'union',
    ]),
    sources: z.array(z.string()).optional().describe('For source_priority: sources, most trusted first.'),
  })
  .strict();

export const computedTraitSchema = z
  .object({
    event: z.string().optional().describe('Event name to aggregate; default: every track event.'),
    op: z.enum(['count', 'sum', 'min', 'max', 'first_time', 'last_time', 'last_value']),
    property: z.string().optional().describe('Event property (or `revenue`) for sum/min/max/last_value.'),
  })
  .strict();

export const resolutionSchema = z
  .object({
    resolver: z.string().default('deterministic'),
    probabilistic: z
      .unknown()
      .optional()
      .describe('Settings of the probabilistic resolver plugin (comparisons, blocking, thresholds); checked by the plugin.'),
    identifierTypes: z
      .array(z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a lowercase name of letters, digits or "_"'))
      .default([])
      .describe('Custom identifier types mappings may use, besides email, phone, external_id[.namespace] and anonymous_id.'),
    mergeOn: z
      .array(z.string())
      .default(['external_id', 'email', 'phone'])
      .describe('Identifier types that link records, highest priority first (external_id.<ns> for one namespace).'),
    blocked: z
      .record(z.string(), blockedSchema)
      .default({})
      .describe('Per identifier type (or `*`): values that never link. Added to the built-in list.'),
    useDefaultBlocklist: z.boolean().default(true),
    limits: z
      .record(z.string(), z.number().int().min(1))
      .default({ external_id: 1, email: 3, phone: 3 })
      .describe('At most N distinct values of this type (external_id counts per namespace) in one profile.'),
    genericThreshold: z
      .number()
      .int()
      .min(2)
      .default(3)
      .describe('A value presented by records of more than this many profiles stops linking.'),
    nameGuard: z
      .union([
        z.literal(false),
        z
          .object({
            via: z.array(z.string()).default(['email', 'phone']),
            traits: z.array(z.string()).default(['firstName', 'fullName', 'name']),
            familyTraits: z
              .array(z.string())
              .default(['lastName', 'familyName', 'surname'])
              .describe('Family-name traits: a close given-name match (a two-letter typo) counts only when these agree; also used to spot swapped given/family names.'),
            strictVia: z
              .array(z.string())
              .default(['phone'])
              .describe('Household identifier types: different given names never merge through these; the family names must agree too, and a side without a given name never matches a named one. Through the other guarded types (a personal email), a given-name conflict is overridden by the same postcode, or by a near postcode or the same date of birth with the family name.'),
            dateOfBirthTraits: z.array(z.string()).default(['dateOfBirth', 'birthDate', 'dob']),
            postalCodeTraits: z.array(z.string()).default(['postalCode', 'address.postalCode', 'postcode', 'zip']),
          })
          .strict(),
      ])
      .prefault({})
      .describe('Refuse a merge through these identifier types when the two sides have different given names (household phones, shared mailboxes). false to turn off.'),
    unidentified: z
      .union([
        z.enum(['profile', 'dead-letter']),
        z
          .object({ identify: z.enum(['profile', 'dead-letter']).default('profile'), track: z.enum(['profile', 'dead-letter']).default('dead-letter') })
          .strict(),
      ])
      .default({ identify: 'profile', track: 'dead-letter' })
      .describe(
        'A record with no usable identifier (all empty, invalid or blocked): `profile` keeps it as a profile of its own, keyed by its source record (read again, it stays that one profile); `dead-letter` sets it aside with the reasons. One value for both kinds, or per kind; default profile for identify records, dead-letter for track events.',
      ),
    maxRecordsPerProfile: z.number().int().min(1).default(10_000),
    maxIdentifiersPerProfile: z.number().int().min(1).default(100),
    traits: z.record(z.string(), traitRuleSchema).default({}).describe('Survivorship per trait; default most_recent.'),
    computed: z.record(z.string(), computedTraitSchema).default({}),
  })
  .strict();

export const storeSchema = z.union([
  z
    .object({
      sqlite: z.string().min(1),
      commitThread: z
        .boolean()
        .optional()
        .describe('Write each batch on a thread of its own while the next batch is read and resolved (uses a second core). Same transactions and crash safety. On by default for a file; false turns it off (where this is not set, TRIB_COMMIT_THREAD=0 or 1 decides).'),
    })
    .strict(),
  z
    .object({
      postgres: z.string().min(1).describe('PostgreSQL URL, e.g. "${DATABASE_URL}" (postgres://user:password@host:port/db); the password is never printed.'),
      schema: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a plain lower-case schema name')
        .optional()
        .describe("Schema of the store's tables (created if missing); default: the role's search_path, usually public."),
      pool: z.number().int().min(1).max(100).default(4).describe('Connections each process keeps to PostgreSQL.'),
    })
    .strict(),
]);

export const serveSchema = z
  .object({
    port: z.number().int().min(0).max(65535).default(8080).describe('Port of `tributary serve` (0: any free port).'),
    host: z.string().min(1).default('127.0.0.1').describe('Address to listen on (0.0.0.0 for every interface).'),
    inboxBound: z.number().int().min(1).default(1_000_000).describe('Undrained inbox events past which requests get 503 with Retry-After.'),
    flushMs: z.number().int().min(0).max(1000).default(4).describe('Group commit: longest wait before a batch of requests is committed.'),
    flushEvents: z.number().int().min(1).max(100_000).default(2000).describe('Group commit: commit as soon as this many events wait.'),
    maxBodyBytes: z.number().int().min(1024).default(1_048_576).describe('Largest request body (after gzip is undone) for routes without their own limit.'),
    headersTimeoutMs: z.number().int().min(100).default(10_000).describe('A client must send its headers within this time (slowloris).'),
    requestTimeoutMs: z.number().int().min(100).default(30_000).describe('A client must send its whole request within this time.'),
    keepAliveTimeoutMs: z.number().int().min(100).default(5_000),
    durability: z
      .enum(['fsync', 'process'])
      .default('fsync')
      .describe('fsync: each group commit is on disk before the 2xx (survives a power cut). process: committed to the OS (survives a crash of tributary, not of the machine), as the store itself; no fsync per commit.'),
  })
  .strict();

/**
 * Distributed mode (docs/scaling.md): with `queue:` set, `tributary run` hands its schedules to
 * BullMQ job schedulers in Redis and any number of `tributary worker` processes run the jobs.
 */
export const queueSchema = z
  .object({
    redis: z.string().min(1).describe('Redis URL, e.g. "${REDIS_URL}" (redis://[user:password@]host:port[/db], rediss:// for TLS).'),
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, "-", "_" or "."')
      .default('tributary')
      .describe('Prefix of every Redis key: deployments sharing one Redis need one each.'),
    concurrency: z.number().int().min(1).max(64).default(1).describe('Sync and delivery jobs one worker process runs at once.'),
    lockDurationMs: z.number().int().min(500).default(30_000).describe("A job's lock lasts this long unless its worker renews it (every half of it)."),
    stalledIntervalMs: z.number().int().min(500).default(30_000).describe('How often a worker looks for jobs whose lock expired (their worker died) and takes them back.'),
    maxStalledCount: z.number().int().min(0).default(1).describe('Times a job may be taken back from a dead worker before it fails.'),
    catchUp: z
      .enum(['none', 'once'])
      .default('once')
      .describe('A schedule that missed firings while every worker (or the scheduler) was down: "once" runs it once on start, "none" waits for its next firing.'),
  })
  .strict();

export const configSchema = z
  .object({
    store: storeSchema.default({ sqlite: './.tributary/tributary.db' }),
    plugins: z.array(z.string()).default([]).describe('Extra plugin modules: paths or npm packages.'),
    normalize: z
      .object({ defaultRegion: z.string().length(2).default('US') })
      .strict()
      .prefault({}),
    sources: z.array(sourceSchema).default([]),
    resolution: resolutionSchema.prefault({}),
    destinations: z.array(destinationSchema).default([]),
    privacy: privacySchema.prefault({}),
    serve: serveSchema.prefault({}),
    timeouts: globalTimeoutsSchema.prefault({}),
    queue: queueSchema.optional().describe('Distributed mode on BullMQ and Redis; without it `tributary run` schedules with in-process cron.'),
  })
  .strict();

export type TributaryConfig = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type StreamConfig = z.infer<typeof streamSchema>;
export type MappingConfig = z.infer<typeof mappingSchema>;
export type DateFormat = z.infer<typeof dateFormat>;
export type DestinationConfig = z.infer<typeof destinationSchema>;
export type ResolutionConfig = z.infer<typeof resolutionSchema>;
export type TraitRule = z.infer<typeof traitRuleSchema>;
export type ComputedTrait = z.infer<typeof computedTraitSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;
export type DeliveryRetryConfig = z.infer<typeof deliveryRetrySchema>;
export type RateBudgetConfig = z.infer<typeof rateBudgetSchema>;
export type PrivacyConfig = z.infer<typeof privacySchema>;
export type ServeConfig = z.infer<typeof serveSchema>;
export type QueueConfig = z.infer<typeof queueSchema>;
