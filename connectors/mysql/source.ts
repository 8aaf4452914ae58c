import type { SourceConnector } from '../../core/plugin/types.js';
import { sqlSource } from '../sql-common/sql-source.js';
import { discoverTables } from './catalog.js';
import { mysqlConfigSchema, mysqlStreamSchema, type MysqlConfig, type MysqlStreamConfig } from './config.js';
import { checkFailure, closeSession, openSession, readFailure, reasonOf, serverLabel, type MysqlSession } from './connection.js';
import { planStream, readStream } from './read-stream.js';

/**
 * MySQL / MariaDB source. Each stream reads a table (or a SELECT) of `database`:
 * incrementally on a (cursor, primary key) keyset, or as a full refresh paged by
 * primary key, with a resumable state every `checkpointEvery` rows. The session
 * is read-only. See README.md for the type mapping and the state shape.
 */
export const mysqlSource: SourceConnector<MysqlConfig, MysqlStreamConfig> = sqlSource<MysqlConfig, MysqlStreamConfig, MysqlSession>({
  id: 'mysql',
  spec: { config: mysqlConfigSchema, stream: mysqlStreamSchema, secrets: ['password'] },
  openSession,
  closeSession,
  ping: (session) => session.conn.query('SELECT 1'),
  planStream,
  discoverTables: (session, config) => discoverTables(session.conn, config),
  readStream,
  readFailure,
  checkFailure,
  reasonOf,
  serverLabel,
});
