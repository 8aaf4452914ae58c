import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, ConnectionError, TributaryError } from '../../core/errors.js';

/** The connection settings every SQL source config carries. */
export interface ServerConfig {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** `host:port as user`, as every message names the server; never the password. */
export function serverLabel(config: Pick<ServerConfig, 'host' | 'port' | 'user'>): string {
  return `${config.host}:${config.port} as ${config.user}`;
}

/** The `ssl.ca` option as PEM text: given inline, or read from the file it names. */
export function caCertificate(ca: string | undefined): string | undefined {
  if (ca && !ca.includes('-----BEGIN') && existsSync(ca)) return readFileSync(ca, 'utf8');
  return ca;
}

/** The reason an error gives, on one line, with the password cut out should a driver ever echo it. */
export function reasonOf(err: unknown, config: Pick<ServerConfig, 'password'>): string {
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

/** The one-line `check` failure: `cannot connect to <engine> at db:3306 as reader: <reason>`. */
export function connectFailure(engine: string, err: unknown, config: ServerConfig): string {
  return `cannot connect to ${engine} at ${serverLabel(config)}: ${reasonOf(err, config)}`;
}

/** How a database's error codes sort into the kinds of failure that differ in what to do. */
export interface ErrorCodes {
  /** The stream's own SQL or grants are wrong (a missing table or column, a syntax error): a ConfigError. */
  isConfigCode(code: string, connected: boolean): boolean;
  /**
   * The server refused who we are or what we asked to open (wrong password,
   * unknown user or role, a database that does not exist, no right to connect):
   * a ConnectionError that is not retried, since trying again cannot succeed.
   */
  isPermanentCode(code: string, connected: boolean): boolean;
}

/**
 * What a failure while reading means: when `codes.isConfigCode` says the
 * driver's error code is the stream's own SQL or grants being wrong, a
 * ConfigError; when `codes.isPermanentCode` says the server refused our
 * credentials, a ConnectionError with `retryable: false`; anything else (a
 * dropped connection, a timeout) a retryable ConnectionError. All name the
 * stream; a TributaryError is passed on with the stream and sync filled in.
 */
export function classifyReadFailure(
  engine: string,
  codes: ErrorCodes,
  err: unknown,
  config: ServerConfig,
  where: { stream: string; sync: string; connected: boolean },
): TributaryError {
  const { stream, sync, connected } = where;
  if (err instanceof TributaryError) {
    err.context.sync ??= sync;
    err.context.stream ??= stream;
    return err;
  }
  const code = (err as { code?: unknown }).code;
  const reason = reasonOf(err, config);
  if (typeof code === 'string' && codes.isConfigCode(code, connected)) {
    return new ConfigError(`${engine} at ${config.host}:${config.port} refused the stream's query: ${reason}`, { sync, stream }, { cause: err });
  }
  const what = connected ? `lost the connection to ${engine} at ${serverLabel(config)} while reading` : `cannot connect to ${engine} at ${serverLabel(config)}`;
  if (typeof code === 'string' && codes.isPermanentCode(code, connected)) {
    return new ConnectionError(`${what}: ${reason} (not retried: check the source's user, password and database)`, { sync, stream }, { cause: err, retryable: false });
  }
  return new ConnectionError(`${what}: ${reason}`, { sync, stream }, { cause: err });
}
