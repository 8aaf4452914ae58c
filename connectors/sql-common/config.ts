import { z } from 'zod';

/** The texts that differ between SQL sources' configs; keys, bounds and defaults are shared. */
export interface ServerConfigTexts {
  defaultPort: number;
  /** Message when `user` is empty. */
  userMessage: string;
  user: string;
  password: string;
  database: string;
  timezone: string;
  batchSize: string;
  binary: string;
}

/**
 * The fields every SQL source config has, in order (host, port, user, password,
 * database, ssl, timezone, batchSize, checkpointEvery, binary, connectTimeoutMs),
 * described in the database's own terms. Wrap it in `z.object(...).strict()`.
 */
export function serverConfigShape(t: ServerConfigTexts) {
  return {
    host: z.string().min(1, 'expected a host name or address').describe('Server host name or IP address.'),
    port: z.number().int().min(1).max(65_535).default(t.defaultPort).describe('Server port.'),
    user: z.string().min(1, t.userMessage).describe(t.user),
    password: z.string().default('').describe(t.password),
    database: z.string().min(1, 'expected a database name').describe(t.database),
    ssl: z
      .object({
        ca: z.string().min(1).optional().describe('CA certificate, PEM text (or a path to a PEM file).'),
        rejectUnauthorized: z.boolean().default(true).describe('Refuse a server whose certificate the CA does not vouch for.'),
      })
      .strict()
      .optional()
      .describe('Connect with TLS. Omit for a plain connection.'),
    timezone: z.string().min(1).optional().describe(t.timezone),
    batchSize: z.number().int().min(1).max(1_000_000).default(10_000).describe(t.batchSize),
    checkpointEvery: z.number().int().min(1).default(10_000).describe('Emit a resumable state after this many rows.'),
    binary: z.enum(['skip', 'base64']).default('skip').describe(t.binary),
    connectTimeoutMs: z.number().int().min(100).default(10_000).describe('How long to wait for the server to answer, in milliseconds.'),
  };
}

/**
 * The stream-config rule every SQL source shares: exactly one of `table` or
 * `query`, and `schema` only with `table` (`schemaMessage` says what to do instead).
 */
export function tableOrQuery(schemaMessage: string) {
  return (s: { table?: string; query?: string; schema?: string }, ctx: z.RefinementCtx): void => {
    if (!s.table === !s.query) {
      ctx.addIssue({ code: 'custom', message: 'expected exactly one of `table` or `query`', path: s.table ? ['query'] : ['table'] });
    }
    if (s.query && s.schema) ctx.addIssue({ code: 'custom', message: schemaMessage, path: ['schema'] });
  };
}
