import { z } from 'zod';
import { serverConfigShape, type ServerConfigTexts } from './config.js';

/**
 * What a YAML `mapping:` output name must look like for a SQL destination: a
 * plain column name (letters, digits, underscore, not starting with a digit),
 * at most 63 characters (PostgreSQL's limit; MySQL allows 64). Column names are
 * still quoted in every statement; the pattern keeps typos and odd characters
 * out at load time.
 */
export const SQL_COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
export const SQL_COLUMN_DESCRIBE = 'column names: letters, digits and _, not starting with a digit, at most 63 characters';

/** A table or column name from the config: any text the server allows, always quoted in SQL. */
const identifier = (what: string) =>
  z
    .string()
    .min(1, `expected a ${what} name`)
    .max(63, `a ${what} name has at most 63 characters`)
    .refine((s) => !s.includes('\u0000'), `a ${what} name cannot contain a NUL character`);

/** The texts that differ between SQL destinations' configs. */
export interface DestinationTexts extends Pick<ServerConfigTexts, 'defaultPort' | 'userMessage' | 'password' | 'database'> {
  user: string;
}

/**
 * The fields every SQL destination config has (connection, table, columns,
 * mirror). The connection fields are the sources' own (`serverConfigShape`), so
 * both read the same YAML the same way. Wrap it in `z.object(...).strict()` and
 * add `destinationRules`.
 */
export function destinationConfigShape(t: DestinationTexts) {
  const server = serverConfigShape({ ...t, timezone: '', batchSize: '', binary: '' });
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: server.database,
    ssl: server.ssl,
    connectTimeoutMs: server.connectTimeoutMs,
    table: identifier('table').describe('Table the profiles are written to, one row per profile.'),
    createTable: z
      .boolean()
      .default(false)
      .describe('Create the table when it is missing. Otherwise a missing table fails `check` and every write.'),
    keyColumn: identifier('column').default('id').describe('Primary-key column holding the profile id.'),
    jsonColumn: z
      .union([identifier('column'), z.literal(false)])
      .default('profile')
      .describe('JSON column holding the whole profile document; false to leave it out (only with a mapping).'),
    mirror: z
      .boolean()
      .default(false)
      .describe('Delete the rows of profiles that no longer exist (merged away, forgotten, unmatched). Nothing else is ever deleted.'),
    deletedAtColumn: identifier('column')
      .optional()
      .describe('Without mirror: set this timestamp column when a profile is deleted instead of keeping the row untouched; cleared when it comes back.'),
    lockTimeoutMs: z
      .number()
      .int()
      .min(1)
      .default(30_000)
      .describe('How long a write waits for a lock on the table before the batch is retried later, in milliseconds.'),
  };
}

/** Cross-field rules of every SQL destination config. */
export function destinationRules(c: { mirror: boolean; deletedAtColumn?: string; keyColumn: string; jsonColumn: string | false }, ctx: z.RefinementCtx): void {
  if (c.mirror && c.deletedAtColumn) {
    ctx.addIssue({ code: 'custom', path: ['deletedAtColumn'], message: 'deletedAtColumn applies without mirror (mirror deletes the rows)' });
  }
  const names = [c.keyColumn, c.jsonColumn, c.deletedAtColumn].filter((n): n is string => typeof n === 'string');
  if (new Set(names).size !== names.length) {
    ctx.addIssue({ code: 'custom', path: ['jsonColumn'], message: `keyColumn, jsonColumn and deletedAtColumn must be different columns (${names.join(', ')})` });
  }
}

/** What `sql-destination.ts` needs from any SQL destination config. */
export interface SqlDestinationConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  table: string;
  createTable: boolean;
  keyColumn: string;
  jsonColumn: string | false;
  mirror: boolean;
  deletedAtColumn?: string;
  lockTimeoutMs: number;
}
