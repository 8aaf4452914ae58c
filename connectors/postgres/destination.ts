import pg from 'pg';
import type { DestinationConnector } from '../../core/plugin/types.js';
import type { ColumnKind } from '../sql-common/destination-rows.js';
import { sqlDestination, type FailureKind, type TableColumns } from '../sql-common/sql-destination.js';
import { postgresConfigSchema } from './config.js';
import { clientConfig } from './connection.js';
import { postgresDestinationConfigSchema, type PostgresDestinationConfig } from './destination-config.js';

/** `"name"`, quotes doubled: the only way a configured name reaches SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

const tableName = (c: PostgresDestinationConfig) => `${quoteIdent(c.schema)}.${quoteIdent(c.table)}`;

const TYPES: Record<ColumnKind, string> = {
  key: 'text PRIMARY KEY',
  text: 'text',
  number: 'double precision',
  boolean: 'boolean',
  timestamp: 'timestamptz',
  json: 'jsonb',
};

/**
 * SQLSTATE classes: 22 data exception and 23 integrity violation are the row's
 * values (P0 a trigger refusing it); 28 bad credentials, 3D/3F no such database
 * or schema, 42 a missing table, column or privilege, 0A/25 a server that cannot
 * take writes this way: no retry helps. Everything else (08 connection, 40
 * deadlock or serialization, 53 resources, 55P03 lock timeout, 57 shutdown or
 * cancel, network errors without a SQLSTATE) is worth retrying.
 */
export function classifyPostgresError(err: unknown): FailureKind {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return 'retryable';
  const cls = code.slice(0, 2);
  if (cls === '22' || cls === '23' || cls === 'P0') return 'data';
  if (['28', '3D', '3F', '42', '0A', '25', '2B', '44'].includes(cls)) return 'fatal';
  return 'retryable';
}

/**
 * Build the `postgres` destination. Rows go in as one statement per batch:
 * `INSERT ... SELECT ... FROM jsonb_populate_recordset(NULL::<table>, $1)
 * ON CONFLICT (<key>) DO UPDATE`: the batch travels as one JSON parameter and
 * the server converts each value with the column's own type (a too-long or
 * malformed value fails as it would in a plain INSERT, never truncated).
 */
export function createPostgresDestination(): DestinationConnector<PostgresDestinationConfig> {
  // One small pool per server, user and lock timeout: a backend per batch would cost a fork each.
  // Idle connections close after a few seconds and never keep the process alive.
  const pools = new Map<string, pg.Pool>();
  const poolFor = (config: PostgresDestinationConfig): pg.Pool => {
    const server = postgresConfigSchema.parse({
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password,
      database: config.database,
      ssl: config.ssl,
      connectTimeoutMs: config.connectTimeoutMs,
    });
    const key = JSON.stringify([server, config.lockTimeoutMs]);
    let pool = pools.get(key);
    if (!pool) {
      pool = new pg.Pool({ ...clientConfig(server), max: 2, idleTimeoutMillis: 5000, allowExitOnIdle: true });
      pool.on('error', () => undefined);
      // Runs before any query of the caller: the client queues queries in order.
      pool.on('connect', (client) => {
        // A connection killed while checked out emits 'error' too; the query in flight fails and says so.
        client.on('error', () => undefined);
        client.query(`SET lock_timeout = ${Math.trunc(config.lockTimeoutMs)}; SET TimeZone = 'UTC'`).catch(() => undefined);
      });
      pools.set(key, pool);
    }
    return pool;
  };
  return sqlDestination<PostgresDestinationConfig, pg.PoolClient>({
    id: 'postgres',
    spec: { config: postgresDestinationConfigSchema, secrets: ['password'] },
    // bench/deliver-postgres.ts (docs/benchmarks/delivery.md, "PostgreSQL destination"): 500-2,000 rows of ~1 KB
    // per call run alike, 5,000 slower and larger in memory.
    limits: { maxBatchItems: 2000, maxBatchBytes: 32 * 1024 * 1024 },

    async connect(config) {
      return poolFor(config).connect();
    },
    async close(client, broken) {
      client.release(broken);
    },
    tableLabel: tableName,

    async describe(client, config) {
      const res = await client.query<{ present: boolean | string; name: string | null; type: string | null; key: boolean | string | null }>(
        `SELECT r.oid IS NOT NULL AS present, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = r.oid AND i.indisunique AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL) AS key
           FROM (SELECT to_regclass($1) AS oid) r
           LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped`,
        [tableName(config)],
      );
      // Values arrive as text (the source's raw type parsers): 't' / 'f'.
      const yes = (v: unknown) => v === true || v === 't';
      if (!res.rows.length || !yes(res.rows[0].present)) return undefined;
      const columns: TableColumns = new Map();
      let keyUnique = false;
      for (const r of res.rows) {
        if (!r.name) continue;
        columns.set(r.name, r.type ?? '');
        if (r.name === config.keyColumn) keyUnique = yes(r.key);
      }
      return { columns, keyUnique };
    },

    async createTable(client, config, columns) {
      const defs = columns.map((c) => `${quoteIdent(c.name)} ${TYPES[c.kind]}`).join(', ');
      await client.query(`CREATE TABLE IF NOT EXISTS ${tableName(config)} (${defs})`);
    },

    async control(client, sql) {
      await client.query(sql);
    },

    async upsert(client, config, _table, columns, rows) {
      const cols = columns.map(quoteIdent).join(', ');
      const key = quoteIdent(config.keyColumn);
      const rest = columns.filter((c) => c !== config.keyColumn).map((c) => `${quoteIdent(c)} = EXCLUDED.${quoteIdent(c)}`);
      const onConflict = rest.length ? `DO UPDATE SET ${rest.join(', ')}` : 'DO NOTHING';
      const sql = `INSERT INTO ${tableName(config)} (${cols}) SELECT ${cols} FROM jsonb_populate_recordset(NULL::${tableName(config)}, $1::jsonb) ON CONFLICT (${key}) ${onConflict}`;
      await client.query(sql, [JSON.stringify(rows.map((r) => r.values))]);
    },

    async remove(client, config, refs) {
      await client.query(`DELETE FROM ${tableName(config)} WHERE ${quoteIdent(config.keyColumn)} = ANY($1)`, [refs]);
    },

    async markDeleted(client, config, refs) {
      const stamp = quoteIdent(config.deletedAtColumn!);
      await client.query(`UPDATE ${tableName(config)} SET ${stamp} = now() WHERE ${quoteIdent(config.keyColumn)} = ANY($1) AND ${stamp} IS NULL`, [refs]);
    },

    classify: classifyPostgresError,
  });
}

/** The `postgres` destination: one row per profile, upserted by profile id. See README.md. */
export const postgresDestination = createPostgresDestination();
