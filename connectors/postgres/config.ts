import { z } from 'zod';
import { serverConfigShape, tableOrQuery } from '../sql-common/config.js';

/**
 * Connector config: one block per PostgreSQL source in YAML.
 *
 * `password` is a secret: it is listed in `spec.secrets` and never appears in
 * errors or `check` messages.
 */
export const postgresConfigSchema = z
  .object(
    serverConfigShape({
      defaultPort: 5432,
      userMessage: 'expected a user (role) name',
      user: 'A role with SELECT on the streams\' tables; nothing else is needed.',
      password: 'Password of `user`. Secret: use ${PG_PASSWORD} or ${file:...}.',
      database: 'Database to connect to.',
      timezone: 'Zone `timestamp without time zone` values are written in (IANA name or +HH:MM). Default: the server TimeZone setting.',
      batchSize: 'Rows per FETCH from the server-side cursor.',
      binary: 'bytea columns: leave them out, or include them as base64 text. Binary key columns are always included.',
    }),
  )
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
  .superRefine(tableOrQuery('`schema` applies to `table` only; qualify names inside the query'))
  .transform((s) => (s.table ? { ...s, schema: s.schema ?? 'public' } : s));

export type PostgresStreamConfig = z.output<typeof postgresStreamSchema>;
