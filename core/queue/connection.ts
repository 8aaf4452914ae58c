import { Redis, type RedisOptions } from 'ioredis';
import { ConfigError, ConnectionError, errorMessage } from '../errors.js';
import type { Logger } from '../plugin/types.js';

/** Where a Redis URL points, without its user or password: the only form of it that is ever logged. */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || '127.0.0.1'}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** The password (and user) of a Redis URL, so the logger's redactor can hide them wherever they turn up. */
export function redisSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    return [decodeURIComponent(u.password), u.password].filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

/** Redis said the credentials are wrong: retrying cannot help. */
export function isAuthError(err: unknown): boolean {
  return /WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(errorMessage(err));
}

/** The socket went away or cannot be opened: the reconnect strategy reports and handles it. */
export function isConnectionLoss(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  return /Connection is closed|connect ECONNREFUSED|read ECONNRESET|Socket closed unexpectedly/i.test(errorMessage(err));
}

/** Exponential backoff for reconnects: 0.5 s, 1 s, 2 s ... at most 15 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(500 * 2 ** Math.max(0, attempt - 1), 15_000);
}

export interface RedisConnectOptions {
  url: string;
  logger: Logger;
  /** Shown in log lines: which connection of the process this is (worker, scheduler, events). */
  role: string;
}

/** An ioredis client and the last error its socket reported (a refused AUTH surfaces only there). */
export interface RedisHandle {
  client: Redis;
  lastError(): string;
}

/**
 * An ioredis client for BullMQ: `maxRetriesPerRequest: null` (a Worker's blocking
 * commands must wait through a reconnect, BullMQ refuses a connection without it)
 * and a reconnect strategy that says on one line what is wrong and when it retries.
 * A refused password stops the reconnects: retrying cannot fix it.
 */
export function redisClient(opts: RedisConnectOptions): RedisHandle {
  const where = redisAddress(opts.url);
  let lastError = '';
  let down = false;
  const options: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: true,
    retryStrategy: (attempt) => {
      if (isAuthError(lastError)) return null;
      const delay = reconnectDelay(attempt);
      opts.logger.warn(`queue: Redis at ${where} is unreachable (${lastError || 'connection lost'}); ${opts.role} retries in ${delay} ms`);
      down = true;
      return delay;
    },
    // A READONLY replica after a failover: reconnect so we reach the new primary.
    reconnectOnError: (err) => /READONLY/.test(err.message),
  };
  const client = new Redis(opts.url, options);
  client.on('error', (err: NodeJS.ErrnoException) => {
    lastError = err.code && err.code !== 'ERR' ? err.code : err.message.split('\n')[0];
    if (isAuthError(lastError)) lastError = err.message.split('\n')[0];
  });
  client.on('ready', () => {
    if (down) opts.logger.info(`queue: Redis at ${where} is reachable again (${opts.role})`);
    down = false;
    lastError = '';
  });
  return { client, lastError: () => lastError };
}

/** `p`, or a rejection as soon as `signal` aborts (a SIGTERM while Redis is down must not wait for it). */
function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('stopped while waiting for Redis'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The one-line error for credentials Redis refused. */
export function authError(url: string, detail: string): ConfigError {
  return new ConfigError(`queue.redis: Redis at ${redisAddress(url)} refused the credentials (${detail}); check the user and password in the URL`);
}

/**
 * Connect once before anything else starts: an unreachable server is waited for
 * (the reconnect strategy logs each attempt), a refused password is a one-line
 * error that stops the command, with no retries.
 */
export async function checkRedis(opts: RedisConnectOptions & { signal?: AbortSignal }): Promise<void> {
  const { client, lastError } = redisClient(opts);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        if (client.status === 'wait') await client.connect();
        await untilAborted(client.ping(), opts.signal);
        return;
      } catch (err) {
        const why = isAuthError(lastError()) ? lastError() : errorMessage(err);
        if (isAuthError(why)) throw authError(opts.url, why);
        if (opts.signal?.aborted) throw new ConnectionError(`queue: Redis at ${redisAddress(opts.url)} is unreachable: ${why}`, {}, { retryable: false });
        // ioredis reconnects on its own (and logs it); wait a little before asking again.
        await new Promise((r) => setTimeout(r, reconnectDelay(attempt)));
      }
    }
  } finally {
    client.disconnect();
  }
}
