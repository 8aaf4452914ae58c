import type { SourceConnector } from '../../core/plugin/types.js';
import { sqlSource } from '../sql-common/sql-source.js';
import { discoverTables } from './catalog.js';
import { postgresConfigSchema, postgresStreamSchema, type PostgresConfig, type PostgresStreamConfig } from './config.js';
import { checkFailure, closeSession, openSession, readFailure, reasonOf, serverLabel, type PostgresSession } from './connection.js';
import { planStream, readStream } from './read-stream.js';

/**
 * PostgreSQL source. Each stream reads a table or view (or a SELECT):
 * incrementally on a (cursor, primary key) keyset, or as a full refresh in
 * primary-key order, through server-side cursors in read-only transactions,
 * with a resumable state every `checkpointEvery` rows. See README.md for the
 * type mapping and the state shape.
 */
export const postgresSource: SourceConnector<PostgresConfig, PostgresStreamConfig> = sqlSource<PostgresConfig, PostgresStreamConfig, PostgresSession>({
  id: 'postgres',
  spec: { config: postgresConfigSchema, stream: postgresStreamSchema, secrets: ['password'] },
  openSession,
  closeSession,
  ping: (session) => session.client.query('SELECT 1'),
  planStream,
  discoverTables: (session, config) => discoverTables(session.client, config),
  readStream,
  readFailure,
  checkFailure,
  reasonOf,
  serverLabel,
});
