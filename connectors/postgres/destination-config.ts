import { z } from 'zod';
import { destinationConfigShape, destinationRules } from '../sql-common/destination-config.js';

/**
 * Destination config: one block per PostgreSQL destination in YAML. The
 * connection fields are the postgres source's; `password` is a secret (listed
 * in `spec.secrets`, never in errors or `check` messages).
 */
export const postgresDestinationConfigSchema = z
  .object({
    ...destinationConfigShape({
      defaultPort: 5432,
      userMessage: 'expected a user (role) name',
      user: 'A role with INSERT, UPDATE (and DELETE for mirror) on the table; CREATE on the schema for createTable.',
      password: 'Password of `user`. Secret: use ${PG_PASSWORD} or ${file:...}.',
      database: 'Database to connect to.',
    }),
    schema: z.string().min(1).max(63).default('public').describe('Schema of `table`.'),
  })
  .strict()
  .superRefine(destinationRules);

export type PostgresDestinationConfig = z.output<typeof postgresDestinationConfigSchema>;
