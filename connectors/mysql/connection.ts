import mysqlCore from 'mysql2';
import type mysql from 'mysql2/promise';
import { ConfigError, type TributaryError } from '../../core/errors.js';
import { caCertificate, classifyReadFailure, connectFailure, reasonOf, serverLabel } from '../sql-common/connection-errors.js';
import { resolveZone, type WallClockZone } from '../sql-common/timestamps.js';
import type { MysqlConfig } from './config.js';

export type MysqlConnection = mysql.Connection;

/** An open, read-only session and what was learned while opening it. */
export interface MysqlSession {
  conn: MysqlConnection;
  /** The same connection, callback-style: the only one that can stream a result row by row. */
  core: mysqlCore.Connection;
  /**
   * Zone DATETIME values are read in, or why it could not be determined: that
   * only matters (and is only reported) when a stream has a DATETIME column.
   * TIMESTAMP values arrive in UTC (the session zone is set to +00:00).
   */
  zone: WallClockZone | ConfigError;
  /** Server connection id, for KILL and for logs. */
  threadId: number;
}

/** Shared with every SQL source (`sql-common/connection-errors.ts`); re-exported for callers of this module. */
export { reasonOf, serverLabel };

function sslOptions(ssl: MysqlConfig['ssl']): mysqlCore.ConnectionOptions['ssl'] {
  if (!ssl) return undefined;
  return { ca: caCertificate(ssl.ca), rejectUnauthorized: ssl.rejectUnauthorized };
}

/**
 * Driver options. Every value arrives as the server wrote it, or as close to it
 * as mysql2 allows, and `convert.ts` decides what it becomes: dates stay text
 * (so microseconds and zero dates survive), BIGINT and DECIMAL stay decimal strings.
 */
export function connectionOptions(config: MysqlConfig): mysqlCore.ConnectionOptions {
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    ssl: sslOptions(config.ssl),
    connectTimeout: config.connectTimeoutMs,
    charset: 'UTF8MB4_UNICODE_CI',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    multipleStatements: false,
  };
}

/** The one-line `check` failure: `cannot connect to mysql at db:3306 as reader: Access denied ...`. */
export function checkFailure(err: unknown, config: MysqlConfig): string {
  return connectFailure('mysql', err, config);
}

const CONFIG_CODES = new Set([
  'ER_NO_SUCH_TABLE',
  'ER_BAD_FIELD_ERROR',
  'ER_PARSE_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_SP_DOES_NOT_EXIST',
  'ER_WRONG_FIELD_WITH_GROUP',
  'ER_NON_UNIQ_ERROR',
  'ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION',
]);

/** The server refused the login: no retry can fix a wrong password, an unknown user or a host without the right to connect. */
const AUTH_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_HOST_NOT_PRIVILEGED',
  'ER_NOT_SUPPORTED_AUTH_MODE',
  'ER_MUST_CHANGE_PASSWORD_LOGIN',
  'ER_ACCOUNT_HAS_BEEN_LOCKED',
  'ER_PASSWORD_NO_MATCH',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
]);

/**
 * What a failure while reading means: a SQL error in the stream's own query or
 * a missing grant (or database) is a ConfigError, a refused login a
 * ConnectionError that is not retried, anything else (a dropped or killed
 * connection, a timeout) a retryable ConnectionError. All name the stream.
 */
export function readFailure(err: unknown, config: MysqlConfig, stream: string, sync: string, connected: boolean): TributaryError {
  return classifyReadFailure('mysql', { isConfigCode: (code) => CONFIG_CODES.has(code), isPermanentCode: (code) => AUTH_CODES.has(code) }, err, config, {
    stream,
    sync,
    connected,
  });
}

/**
 * The zone DATETIME values are written in: the `timezone` option, else the
 * server's session zone (`SYSTEM` meaning the server's OS zone).
 */
export function datetimeZone(config: Pick<MysqlConfig, 'timezone'>, sessionZone: string, systemZone: string): WallClockZone {
  const name = config.timezone ?? (sessionZone === 'SYSTEM' ? systemZone : sessionZone);
  const zone = resolveZone(name);
  if (!zone) {
    const origin = config.timezone ? 'config.timezone' : `the server time zone (@@time_zone ${sessionZone}, system ${systemZone})`;
    throw new ConfigError(`cannot interpret ${origin} "${name}" to convert DATETIME values; set config.timezone to an IANA name (Europe/Berlin) or an offset (+02:00)`);
  }
  return zone;
}

/**
 * Connect and make the session safe to read from: read-only (the server refuses
 * any write, even from a stream's query), TIMESTAMP values in UTC. Errors are
 * thrown as they come; callers decide what they mean.
 */
export async function openSession(config: MysqlConfig): Promise<MysqlSession> {
  const core = mysqlCore.createConnection(connectionOptions(config));
  // A connection that dies while idle emits 'error'; without a listener Node would crash.
  // The next query on it fails and that failure is what the caller reports.
  core.on('error', () => undefined);
  const conn = core.promise();
  try {
    await new Promise<void>((resolve, reject) => core.connect((err) => (err ? reject(err) : resolve())));
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@session.time_zone AS tz, @@system_time_zone AS sys');
    let zone: WallClockZone | ConfigError;
    try {
      zone = datetimeZone(config, String(rows[0].tz), String(rows[0].sys));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      zone = err;
    }
    await conn.query("SET SESSION time_zone = '+00:00'");
    await conn.query('SET SESSION TRANSACTION READ ONLY');
    return { conn, core, zone, threadId: core.threadId ?? conn.threadId };
  } catch (err) {
    core.destroy();
    throw err;
  }
}

/** Close politely; a connection that is already gone is simply dropped. */
export async function closeSession(session: MysqlSession | undefined): Promise<void> {
  if (!session) return;
  try {
    await session.conn.end();
  } catch {
    session.core.destroy();
  }
}
