import { MongoClient, MongoError, MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { ConnectionError, type ErrorContext } from '../../core/errors.js';
import type { MongodbConfig } from './config.js';

/**
 * What a message may say about the server: its hosts and user, never the password.
 * Built once per call from the secret URL, so every error goes through one redactor.
 */
export interface ServerIdentity {
  /** `db1:27017,db2:27017`: the host list of the connection string. */
  hosts: string;
  /** The user name in the URL, if any (user names are not secret). */
  user?: string;
  /** Remove the URL's credentials from any text (driver messages may quote the URL). */
  redact(text: string): string;
}

/** Parse the parts of a connection string that messages may show, and a redactor for the rest. */
export function serverIdentity(url: string): ServerIdentity {
  const rest = url.replace(/^mongodb(\+srv)?:\/\//, '');
  // Hosts never contain '@', so the last '@' ends the credentials even when a
  // password holds unencoded '/', '?' or ':' (the driver refuses those URLs, our message must not leak them).
  const at = rest.lastIndexOf('@');
  const userinfo = at >= 0 ? rest.slice(0, at) : '';
  const hosts = (at >= 0 ? rest.slice(at + 1) : rest).split(/[/?]/)[0] || '(no host)';
  const colon = userinfo.indexOf(':');
  const rawUser = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
  const rawPassword = colon >= 0 ? userinfo.slice(colon + 1) : '';
  const secrets = new Set<string>();
  if (rawPassword) {
    secrets.add(rawPassword);
    secrets.add(safeDecode(rawPassword));
  }
  const ordered = [...secrets].filter(Boolean).sort((a, b) => b.length - a.length);
  return {
    hosts,
    user: rawUser ? safeDecode(rawUser) : undefined,
    redact(text: string): string {
      let out = text.replace(/(mongodb(?:\+srv)?:\/\/)[^\s]*@/g, '$1***@');
      for (const s of ordered) out = out.split(s).join('***');
      return out;
    },
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * A client tuned for a batch reader: fail fast when no server answers
 * (`connectTimeoutMs` bounds both the TCP connect and server selection),
 * keep regular expressions as BSON values so any server pattern deserializes.
 */
export function openClient(config: MongodbConfig): MongoClient {
  return new MongoClient(config.url, {
    appName: 'tributary',
    connectTimeoutMS: config.connectTimeoutMs,
    serverSelectionTimeoutMS: config.connectTimeoutMs,
    bsonRegExp: true,
    maxPoolSize: 4,
  });
}

/** Server error codes that mean "try again later": the server moved, restarted or dropped our cursor. */
const TRANSIENT_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  43, // CursorNotFound: the server restarted or the cursor timed out
  89, // NetworkTimeout
  91, // ShutdownInProgress
  175, // QueryPlanKilled
  189, // PrimarySteppedDown
  237, // CursorKilled
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Codes that mean the credentials or the user's roles are wrong: retrying does not help. */
const ACCESS_CODES = new Set([13, 18]);

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The driver's reason, stripped of credentials, on one line. */
export function reasonOf(err: unknown, server: ServerIdentity): string {
  const raw = err instanceof Error ? err.message : String(err);
  return oneLine(server.redact(raw)) || (err instanceof Error ? err.name : 'unknown error');
}

function codeOf(err: unknown): number | undefined {
  return err instanceof MongoServerError && typeof err.code === 'number' ? err.code : undefined;
}

/** Why `check` fails, as the one line the CLI prints. */
export function checkFailure(err: unknown, server: ServerIdentity): string {
  const reason = reasonOf(err, server);
  const code = codeOf(err);
  if (code !== undefined && ACCESS_CODES.has(code)) {
    const who = server.user ? ` as user "${server.user}"` : '';
    return `MongoDB at ${server.hosts} refused access${who}: ${reason}`;
  }
  return `cannot connect to MongoDB at ${server.hosts}: ${reason}`;
}

export interface ReadErrorContext extends ErrorContext {
  database: string;
  collection: string;
}

/**
 * Turn a driver error thrown while reading into a ConnectionError naming the
 * stream and the server. Lost connections and lost cursors are retryable: a new
 * read from the last state picks up where the checkpoint left off.
 */
export function readError(err: unknown, server: ServerIdentity, where: ReadErrorContext): Error {
  if (!(err instanceof MongoError)) return err instanceof Error ? err : new Error(String(err));
  const { database, collection, ...context } = where;
  const reason = reasonOf(err, server);
  const code = codeOf(err);
  const target = `${database}.${collection} on ${server.hosts}`;
  if (err instanceof MongoServerSelectionError) {
    return new ConnectionError(`cannot connect to MongoDB at ${server.hosts} to read ${database}.${collection}: ${reason}`, context, {
      cause: err,
      retryable: true,
    });
  }
  if (err instanceof MongoNetworkError || (code !== undefined && TRANSIENT_CODES.has(code))) {
    return new ConnectionError(`lost MongoDB connection while reading ${target}: ${reason}; the next run resumes from the last checkpoint`, context, {
      cause: err,
      retryable: true,
    });
  }
  if (code !== undefined && ACCESS_CODES.has(code)) {
    const who = server.user ? ` user "${server.user}"` : ' this client';
    return new ConnectionError(`MongoDB refused${who} access to ${target}: ${reason}`, context, { cause: err, retryable: false });
  }
  const codeText = code !== undefined ? ` (code ${code})` : '';
  return new ConnectionError(`MongoDB refused the query on ${target}${codeText}: ${reason}; check the stream's filter and projection`, context, {
    cause: err,
    retryable: false,
  });
}
