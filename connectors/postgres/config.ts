import { z } from 'zod';

/**
 * Connector config: one block per PostgreSQL source in YAML.
 *
 * `password` is a secret: it is listed in `spec.secrets` and never appears in
 * errors or `check` messages.
 */
export const postgresConfigSchema = z
  .object({
    host: z.string().min(1, 'expected a host name or address').describe('Server host name or IP address.'),
    port: z.number().int().min(1).max(65_535).default(5432).describe('Server port.'),
    user: z.string().min(1, 'expected a user (role) name').describe('A role with SELECT on the streams\' tables; nothing else is needed.'),
    password: z.string().default('').describe('Password of `user`. Secret: use ${PG_PASSWORD} or ${file:...}.'),
    database: z.string().min(1, 'expected a database name').describe('Database to connect to.'),
    ssl: z
      .object({
        ca: z.string().min(1).optional().describe('CA certificate, PEM text (or a path to a PEM file).'),
        rejectUnauthorized: z.boolean().default(true).describe('Refuse a server whose certificate the CA does not vouch for.'),
      })
      .strict()
      .optional()
      .describe('Connect with TLS. Omit for a plain connection.'),
    timezone: z
      .string()
      .min(1)
      .optional()
      .describe('Zone `timestamp without time zone` values are written in (IANA name or +HH:MM). Default: the server TimeZone setting.'),
    batchSize: z.number().int().min(1).max(1_000_000).default(10_000).describe('Rows per FETCH from the server-side cursor.'),
    checkpointEvery: z.number().int().min(1).default(10_000).describe('Emit a resumable state after this many rows.'),
    binary: z
      .enum(['skip', 'base64'])
      .default('skip')
      .describe('bytea columns: leave them out, or include them as base64 text. Binary key columns are always included.'),
    connectTimeoutMs: z.number().int().min(100).default(10_000).describe('How long to wait for the server to answer, in milliseconds.'),
  })
  .strict();

export type PostgresConfig = z.infer<typeof postgresConfigSchema>;

/**
 * Per-stream config: a table or view (in `schema`, default `public`) or a
 * SELECT. A query stream reads `SELECT * FROM (<query>) AS q` ordered by the
 * stream's `primaryKey` (and `cursor`), which must be columns of the result.
 */
export const postgresStreamSchema = z
  .object({
    table: z.string().min(1, 'expected a table name').optional().describe('Table, view or materialized view to read.'),
    schema: z.string().min(1).optional().describe('Schema of `table`. Default: public.'),
    query: z.string().min(1, 'expected a SELECT statement').optional().describe('A SELECT to read instead of a table (no $n parameters).'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!s.table === !s.query) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of `table` or `query`', path: s.table ? ['query'] : ['table'] });
    }
    if (s.query && s.schema) ctx.addIssue({ code: 'custom', message: '`schema` applies to `table` only; qualify names inside the query', path: ['schema'] });
  })
  .transform((s) => (s.table ? { ...s, schema: s.schema ?? 'public' } : s));

export type PostgresStreamConfig = z.output<typeof postgresStreamSchema>;
