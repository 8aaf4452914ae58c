import { z } from 'zod';
import { serverConfigShape, tableOrQuery } from '../sql-common/config.js';

/**
 * Connector config: one block per MySQL/MariaDB source in YAML.
 *
 * `password` is a secret: it is listed in `spec.secrets` and never appears in
 * errors or `check` messages.
 */
export const mysqlConfigSchema = z
  .object(
    serverConfigShape({
      defaultPort: 3306,
      userMessage: 'expected a user name',
      user: 'A user with SELECT on the streams\' tables; nothing else is needed.',
      password: 'Password of `user`. Secret: use ${MYSQL_PASSWORD} or ${file:...}.',
      database: 'Database (schema) that holds the tables to read.',
      timezone: 'Zone DATETIME values are written in (IANA name or +HH:MM). Default: the server session time zone.',
      batchSize: 'Rows per query (LIMIT of each keyset page).',
      binary: 'BINARY, VARBINARY and BLOB columns: leave them out, or include them as base64 text. Binary key columns are always included.',
    }),
  )
  .strict();

export type MysqlConfig = z.infer<typeof mysqlConfigSchema>;

/**
 * Per-stream config: a table (of `database`, or of `schema`) or a SELECT.
 * A query stream reads `SELECT * FROM (<query>) AS q` paged by the stream's
 * `primaryKey` (and `cursor`), which must be columns of the query's result.
 */
export const mysqlStreamSchema = z
  .object({
    table: z.string().min(1, 'expected a table name').optional().describe('Table or view to read.'),
    query: z.string().min(1, 'expected a SELECT statement').optional().describe('A SELECT to read instead of a table.'),
    schema: z.string().min(1).optional().describe('Database of `table`, when not the connection\'s `database`.'),
  })
  .strict()
  .superRefine(tableOrQuery('`schema` applies to `table` only; name the database inside the query'));

export type MysqlStreamConfig = z.infer<typeof mysqlStreamSchema>;
