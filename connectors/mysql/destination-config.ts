import { z } from 'zod';
import { destinationConfigShape, destinationRules } from '../sql-common/destination-config.js';

/**
 * Destination config: one block per MySQL / MariaDB destination in YAML. The
 * connection fields are the mysql source's; `password` is a secret (listed in
 * `spec.secrets`, never in errors or `check` messages).
 */
export const mysqlDestinationConfigSchema = z
  .object(
    destinationConfigShape({
      defaultPort: 3306,
      userMessage: 'expected a user name',
      user: 'A user with INSERT, UPDATE (and DELETE for mirror) on the table; CREATE for createTable.',
      password: 'Password of `user`. Secret: use ${MYSQL_PASSWORD} or ${file:...}.',
      database: 'Database (schema) holding the table.',
    }),
  )
  .strict()
  .superRefine(destinationRules);

export type MysqlDestinationConfig = z.output<typeof mysqlDestinationConfigSchema>;
