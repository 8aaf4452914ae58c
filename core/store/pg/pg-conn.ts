import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { ConnectionError } from '../../errors.js';
import { describeUrl } from './pg-url.js';

/** How the PostgreSQL store connects: a URL, and optionally a schema of its own (tests, several deployments in one database). */
export interface PgStoreOptions {
  url: string;
  /** Tables live in this schema (created if missing); default: the role's search_path (usually `public`). */
  schema?: string;
  /** Pool size; default 4. */
  max?: number;
  /** Connect timeout, ms; default 10,000. */
  connectTimeoutMs?: number;
}

export { describeUrl };

type Values = unknown[];

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** SQLSTATEs of a refused login or a missing database: retrying cannot help. */
function isPermanentLoginState(code: string): boolean {
  return code.startsWith('28') || code === '3D000' || code === '42501';
}

/** A dropped connection, a terminated backend, a server shutting down or starting, a timeout. */
function isConnectionFailure(err: { code?: string; message?: string }): boolean {
  const code = err.code ?? '';
  if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH)$/.test(code)) return true;
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(err.message ?? '');
}


/**
 * The store's connections: a pool, and the client of the current transaction.
 * `q` runs on the transaction's client when called inside `tx` (found through
 * AsyncLocalStorage, so code called from inside a transaction needs no client
 * argument), otherwise on any pooled connection. Errors become the engine's:
 * a dropped connection a retryable ConnectionError (the engine resumes the sync
 * from its last checkpoint; the transaction was rolled back by the server), a
 * refused login one line and no retry; SQL errors pass through unchanged.
 */
export class PgConn {
  readonly pool: pg.Pool;
  readonly schema?: string;
  readonly label: string;
  private readonly current = new AsyncLocalStorage<pg.PoolClient>();

  constructor(opts: PgStoreOptions) {
    if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
      throw new ConnectionError(`store.schema: "${opts.schema}" is not a plain lower-case schema name`, {}, { retryable: false });
    }
    this.schema = opts.schema;
    this.label = describeUrl(opts.url);
    this.pool = new pg.Pool({
      connectionString: opts.url,
      max: opts.max ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 10_000,
      application_name: 'tributary-store',
      // search_path set at connect time: every statement (and every helper's SQL) names tables unqualified.
      options: opts.schema ? `-c search_path=${opts.schema}` : undefined,
    });
    // An idle client whose server went away emits 'error' on the pool; without a listener Node exits.
    this.pool.on('error', () => undefined);
  }

  /** Whether the caller is inside `tx`. */
  inTransaction(): boolean {
    return this.current.getStore() !== undefined;
  }

  async q<R = Record<string, unknown>>(text: string, values?: Values): Promise<R[]> {
    const client = this.current.getStore();
    try {
      const res = client ? await client.query(text, values) : await this.pool.query(text, values);
      return res.rows as R[];
    } catch (err) {
      throw this.translate(err);
    }
  }

  /**
   * Run `fn` in one transaction (READ COMMITTED). Nested calls join the outer
   * transaction. On any error the transaction is rolled back and the error
   * rethrown; a client whose connection failed is discarded, not returned to the pool.
   */
  async tx<T>(fn: () => Promise<T>, opts: { isolation?: 'serializable' | 'repeatable read' } = {}): Promise<T> {
    if (this.current.getStore()) return fn();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.translate(err);
    }
    let broken: Error | undefined;
    // A checked-out client whose backend goes away (terminated, server restart) emits 'error';
    // the pool only listens on idle clients, and an unheard 'error' ends the process. The
    // pending or next query fails too (a retryable ConnectionError); the client is discarded.
    const onError = (err: Error) => void (broken ??= err);
    client.on('error', onError);
    try {
      await client.query(opts.isolation ? `BEGIN ISOLATION LEVEL ${opts.isolation.toUpperCase()}` : 'BEGIN');
      const result = await this.current.run(client, fn);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      const e = err as Error & { code?: string };
      if (isConnectionFailure(e)) broken = e;
      else await client.query('ROLLBACK').catch((rb: Error) => (broken = rb));
      throw this.translate(err);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /** The error the engine understands (see the class comment). */
  translate(err: unknown): Error {
    if (err instanceof ConnectionError) return err;
    const e = err as Error & { code?: string };
    if (e && typeof e === 'object' && e.code && isPermanentLoginState(e.code)) {
      return new ConnectionError(`PostgreSQL store ${this.label}: ${e.message}`, {}, { cause: err, retryable: false });
    }
    if (e && typeof e === 'object' && isConnectionFailure(e)) {
      return new ConnectionError(`PostgreSQL store ${this.label} is unreachable: ${e.message || e.code}`, {}, { cause: err, retryable: true });
    }
    return e instanceof Error ? e : new Error(String(err));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
