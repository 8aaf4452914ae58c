import pg from 'pg';
import { ConfigError, type TributaryError } from '../../core/errors.js';
import { caCertificate, classifyReadFailure, connectFailure, reasonOf, serverLabel } from '../sql-common/connection-errors.js';
import { resolveZone, type WallClockZone } from '../sql-common/timestamps.js';
import type { PostgresConfig } from './config.js';

/** An open, read-only session and what was learned while opening it. */
export interface PostgresSession {
  client: pg.Client;
  /**
   * Zone `timestamp without time zone` values are read in, or why it could not
   * be determined (reported only when a stream has such a column).
   */
  zone: WallClockZone | ConfigError;
  /** Backend process id, for pg_terminate_backend and for logs. */
  pid: number;
}

/** Shown as `application_name` in pg_stat_activity, so a DBA can tell who is reading. */
export const APPLICATION_NAME = 'tributary';

/** Shared with every SQL source (`sql-common/connection-errors.ts`); re-exported for callers of this module. */
export { reasonOf, serverLabel };

/** Every value arrives as the text the server wrote; `convert.ts` decides what it becomes. */
const rawText: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };

export function clientConfig(config: PostgresConfig): pg.ClientConfig {
  let ssl: pg.ClientConfig['ssl'];
  if (config.ssl) ssl = { ca: caCertificate(config.ssl.ca), rejectUnauthorized: config.ssl.rejectUnauthorized };
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    password: config.password,
    database: config.database,
    ssl,
    connectionTimeoutMillis: config.connectTimeoutMs,
    application_name: APPLICATION_NAME,
    types: rawText,
  };
}

/** The one-line `check` failure: `cannot connect to postgres at db:5432 as reader: password authentication failed ...`. */
export function checkFailure(err: unknown, config: PostgresConfig): string {
  return connectFailure('postgres', err, config);
}

/**
 * SQLSTATEs that mean the stream's own SQL or grants are wrong: retrying will
 * not help. Class 42 is "syntax error or access rule violation".
 */
function isConfigState(code: string): boolean {
  return code.startsWith('42') || code === '3F000' || code === '25006' || code === '0A000';
}

/**
 * SQLSTATEs the server answers a login with when retrying cannot help: class 28
 * (a bad password, an unknown role, no pg_hba.conf entry), 3D000 (the database
 * does not exist), 42501 (no CONNECT privilege on it).
 */
function isLoginRefusedState(code: string): boolean {
  return code.startsWith('28') || code === '3D000' || code === '42501';
}

/**
 * What a failure while reading means: an error in the stream's own query or a
 * missing grant is a ConfigError; a refused login a ConnectionError that is not
 * retried; anything else (a terminated backend, a dropped connection, a
 * timeout) a retryable ConnectionError. All name the stream.
 */
export function readFailure(err: unknown, config: PostgresConfig, stream: string, sync: string, connected: boolean): TributaryError {
  const sqlState = (code: string) => /^[0-9A-Z]{5}$/.test(code);
  return classifyReadFailure(
    'postgres',
    {
      // Before the connection is up, a SQLSTATE is about the login, not the stream's SQL.
      isConfigCode: (code, up) => up && sqlState(code) && isConfigState(code),
      isPermanentCode: (code, up) => !up && sqlState(code) && isLoginRefusedState(code),
    },
    err,
    config,
    { stream, sync, connected },
  );
}

/** The zone wall-clock timestamps are written in: the `timezone` option, else the server's TimeZone. */
export function timestampZone(config: Pick<PostgresConfig, 'timezone'>, serverZone: string): WallClockZone | ConfigError {
  const name = config.timezone ?? serverZone;
  const zone = resolveZone(name);
  if (zone) return zone;
  const origin = config.timezone ? 'config.timezone' : 'the server TimeZone setting';
  return new ConfigError(
    `cannot interpret ${origin} "${name}" to convert timestamp without time zone values; set config.timezone to an IANA name (Europe/Berlin) or an offset (+02:00)`,
  );
}

/**
 * Connect and make the session safe to read from: every transaction read-only
 * (the server refuses any write, even from a stream's query), output in fixed
 * formats whatever the server's defaults: ISO dates, timestamptz in UTC, ISO
 * 8601 intervals, floats with every digit.
 */
export async function openSession(config: PostgresConfig): Promise<PostgresSession> {
  const client = new pg.Client(clientConfig(config));
  // A connection that dies while idle emits 'error'; without a listener Node would crash.
  // The next query on it fails and that failure is what the caller reports.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const res = await client.query<{ tz: string; pid: string }>("SELECT current_setting('TimeZone') AS tz, pg_backend_pid() AS pid");
    await client.query(
      "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3",
    );
    return { client, zone: timestampZone(config, res.rows[0].tz), pid: Number(res.rows[0].pid) };
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** Close politely; a connection that is already gone is simply dropped. */
export async function closeSession(session: PostgresSession | undefined): Promise<void> {
  if (!session) return;
  await session.client.end().catch(() => undefined);
}
