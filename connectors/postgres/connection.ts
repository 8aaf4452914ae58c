import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { ConfigError, ConnectionError, TributaryError } from '../../core/errors.js';
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

/** `host:port as user`, as every message names the server; never the password. */
export function serverLabel(config: PostgresConfig): string {
  return `${config.host}:${config.port} as ${config.user}`;
}

/** Every value arrives as the text the server wrote; `convert.ts` decides what it becomes. */
const rawText: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };

export function clientConfig(config: PostgresConfig): pg.ClientConfig {
  let ssl: pg.ClientConfig['ssl'];
  if (config.ssl) {
    let ca = config.ssl.ca;
    if (ca && !ca.includes('-----BEGIN') && existsSync(ca)) ca = readFileSync(ca, 'utf8');
    ssl = { ca, rejectUnauthorized: config.ssl.rejectUnauthorized };
  }
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

/** The reason an error gives, on one line, with the password cut out should a driver ever echo it. */
export function reasonOf(err: unknown, config: Pick<PostgresConfig, 'password'>): string {
  let text: string;
  if (err instanceof AggregateError && err.errors.length) {
    text = err.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
  } else if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    text = err.message || (typeof code === 'string' ? code : err.name);
  } else {
    text = String(err);
  }
  text = text.replace(/\s+/g, ' ').trim();
  if (config.password.length >= 4) text = text.split(config.password).join('***');
  return text;
}

/** The one-line `check` failure: `cannot connect to postgres at db:5432 as reader: password authentication failed ...`. */
export function checkFailure(err: unknown, config: PostgresConfig): string {
  return `cannot connect to postgres at ${serverLabel(config)}: ${reasonOf(err, config)}`;
}

/**
 * SQLSTATEs that mean the stream's own SQL or grants are wrong: retrying will
 * not help. Class 42 is "syntax error or access rule violation".
 */
function isConfigState(code: string): boolean {
  return code.startsWith('42') || code === '3F000' || code === '25006' || code === '0A000';
}

/**
 * What a failure while reading means: an error in the stream's own query or a
 * missing grant is a ConfigError; anything else (a terminated backend, a dropped
 * connection, a timeout) a retryable ConnectionError. Both name the stream.
 */
export function readFailure(err: unknown, config: PostgresConfig, stream: string, sync: string, connected: boolean): TributaryError {
  if (err instanceof TributaryError) {
    err.context.sync ??= sync;
    err.context.stream ??= stream;
    return err;
  }
  const code = (err as { code?: unknown }).code;
  const reason = reasonOf(err, config);
  if (connected && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && isConfigState(code)) {
    return new ConfigError(`postgres at ${config.host}:${config.port} refused the stream's query: ${reason}`, { sync, stream }, { cause: err });
  }
  const what = connected ? `lost the connection to postgres at ${serverLabel(config)} while reading` : `cannot connect to postgres at ${serverLabel(config)}`;
  return new ConnectionError(`${what}: ${reason}`, { sync, stream }, { cause: err });
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
