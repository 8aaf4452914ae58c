import mysqlCore from 'mysql2';
import type mysql from 'mysql2/promise';
import type { DestinationConnector } from '../../core/plugin/types.js';
import type { ColumnKind, PlannedRow } from '../sql-common/destination-rows.js';
import { sqlDestination, type FailureKind, type TableColumns } from '../sql-common/sql-destination.js';
import { mysqlConfigSchema } from './config.js';
import { connectionOptions } from './connection.js';
import { mysqlDestinationConfigSchema, type MysqlDestinationConfig } from './destination-config.js';

/** `` `name` ``, backticks doubled. (mysql2's escapeId would split `a.b` into two names.) */
export function quoteId(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

const tableName = (c: MysqlDestinationConfig) => `${quoteId(c.database)}.${quoteId(c.table)}`;

const TYPES: Record<ColumnKind, string> = {
  // Binary collation: profile ids differing only in case are different rows.
  key: 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY',
  text: 'TEXT',
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'DATETIME(3)',
  json: 'JSON',
};

/** Error numbers meaning the row's values were refused (besides SQLSTATE classes 22 and 23). */
const DATA_ERRNOS = new Set([1048, 1062, 1264, 1265, 1292, 1366, 1367, 1406, 1411, 1451, 1452, 1644, 3140, 3819, 4025]);
/** Credentials, privileges, a missing database, table or column, a read-only server: no retry helps. */
const FATAL_ERRNOS = new Set([1044, 1045, 1049, 1054, 1064, 1142, 1143, 1146, 1227, 1290, 1698, 1792]);

/**
 * What a MySQL / MariaDB error means. Anything not known as data or fatal is
 * retryable: lock wait timeout (1205), deadlock (1213), a dropped or killed
 * connection, too many connections, a server shutting down.
 */
export function classifyMysqlError(err: unknown): FailureKind {
  const e = err as { errno?: unknown; sqlState?: unknown; fatal?: unknown } | undefined;
  const errno = typeof e?.errno === 'number' ? e.errno : undefined;
  if (errno !== undefined && FATAL_ERRNOS.has(errno)) return 'fatal';
  if (errno !== undefined && DATA_ERRNOS.has(errno)) return 'data';
  const state = typeof e?.sqlState === 'string' ? e.sqlState : '';
  if (e?.fatal !== true && (state.startsWith('22') || state.startsWith('23'))) return 'data';
  return 'retryable';
}

const ISO_UTC = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)Z$/;

/** A value as MySQL takes it: JSON text for objects, `YYYY-MM-DD hh:mm:ss` (UTC session) for ISO timestamps in DATETIME columns. */
type Param = string | number | boolean | null;

function sqlValue(value: unknown, type: string): Param {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' && /^(datetime|timestamp)/i.test(type)) {
    const m = ISO_UTC.exec(value);
    if (m) return `${m[1]} ${m[2]}`;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

/** Most placeholders and bytes in one statement: below the protocol's 65,535 and the default 16 MB packet. */
const MAX_PARAMS = 60_000;
const MAX_BYTES = 4 * 1024 * 1024;

function chunks(rows: PlannedRow[], columns: string[], table: TableColumns): Param[][][] {
  const out: Param[][][] = [];
  let current: Param[][] = [];
  let bytes = 0;
  for (const row of rows) {
    const values = columns.map((c) => sqlValue(row.values[c], table.get(c) ?? ''));
    const size = values.reduce<number>((n, v) => n + (typeof v === 'string' ? v.length * 3 : 8), 0);
    if (current.length && ((current.length + 1) * columns.length > MAX_PARAMS || bytes + size > MAX_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(values);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

type Conn = { conn: mysql.Connection; core: mysqlCore.Connection };

/** A server-side prepared statement, freed afterwards (its text differs per row count; the server caps how many are open). */
async function run(c: Conn, sql: string, params: Param[]): Promise<void> {
  try {
    await c.conn.execute(sql, params);
  } finally {
    c.conn.unprepare(sql);
  }
}

/**
 * Build the `mysql` destination (MySQL and MariaDB). Rows go in as multi-row
 * `INSERT ... VALUES (?, ...), ... ON DUPLICATE KEY UPDATE`, prepared on the
 * server (values never become SQL text), in a session with strict SQL mode so a
 * too-long or malformed value is an error, never a silent truncation.
 */
export function createMysqlDestination(): DestinationConnector<MysqlDestinationConfig> {
  return sqlDestination<MysqlDestinationConfig, Conn>({
    id: 'mysql',
    spec: { config: mysqlDestinationConfigSchema, secrets: ['password'] },
    limits: { maxBatchItems: 2000, maxBatchBytes: 32 * 1024 * 1024 },

    async connect(config) {
      const server = mysqlConfigSchema.parse({
        host: config.host,
        port: config.port,
        user: config.user,
        password: config.password,
        database: config.database,
        ssl: config.ssl,
        connectTimeoutMs: config.connectTimeoutMs,
      });
      const core = mysqlCore.createConnection(connectionOptions(server));
      // A connection that dies emits 'error'; without a listener Node would crash. The query in flight fails and says so.
      core.on('error', () => undefined);
      const conn = core.promise();
      try {
        await new Promise<void>((resolve, reject) => core.connect((err) => (err ? reject(err) : resolve())));
        const seconds = Math.max(1, Math.ceil(config.lockTimeoutMs / 1000));
        await conn.query(
          `SET SESSION time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION', lock_wait_timeout = ${seconds}, innodb_lock_wait_timeout = ${seconds}`,
        );
        return { conn, core };
      } catch (err) {
        core.destroy();
        throw err;
      }
    },
    async close(c, broken) {
      if (broken) return c.core.destroy();
      await c.conn.end().catch(() => c.core.destroy());
    },
    tableLabel: tableName,

    async describe(c, config) {
      const [rows] = await c.conn.query<mysql.RowDataPacket[]>(
        'SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
        [config.database, config.table],
      );
      // A MySQL table always has a column: none means no table.
      if (!rows.length) return undefined;
      // ON DUPLICATE KEY needs a primary key or unique index on exactly the key column; without one, rows would duplicate.
      const [keys] = await c.conn.query<mysql.RowDataPacket[]>(
        `SELECT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE = 0
          GROUP BY INDEX_NAME HAVING COUNT(*) = 1 AND MAX(COLUMN_NAME) = ? AND MAX(SUB_PART) IS NULL`,
        [config.database, config.table, config.keyColumn],
      );
      return { columns: new Map(rows.map((r) => [String(r.name), String(r.type)])), keyUnique: keys.length > 0 };
    },

    async createTable(c, config, columns) {
      const defs = columns.map((col) => `${quoteId(col.name)} ${TYPES[col.kind]}`).join(', ');
      await c.conn.query(`CREATE TABLE IF NOT EXISTS ${tableName(config)} (${defs}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    },

    async control(c, sql) {
      await c.conn.query(sql);
    },

    async upsert(c, config, table, columns, rows) {
      const cols = columns.map(quoteId).join(', ');
      const rest = columns.filter((col) => col !== config.keyColumn).map((col) => `${quoteId(col)} = VALUES(${quoteId(col)})`);
      const key = quoteId(config.keyColumn);
      const update = rest.length ? rest.join(', ') : `${key} = ${key}`;
      const tuple = `(${columns.map(() => '?').join(', ')})`;
      for (const chunk of chunks(rows, columns, table)) {
        const sql = `INSERT INTO ${tableName(config)} (${cols}) VALUES ${chunk.map(() => tuple).join(', ')} ON DUPLICATE KEY UPDATE ${update}`;
        await run(c, sql, chunk.flat());
      }
    },

    async remove(c, config, refs) {
      for (let i = 0; i < refs.length; i += 10_000) {
        const part = refs.slice(i, i + 10_000);
        await run(c, `DELETE FROM ${tableName(config)} WHERE ${quoteId(config.keyColumn)} IN (${part.map(() => '?').join(', ')})`, part);
      }
    },

    async markDeleted(c, config, refs) {
      const stamp = quoteId(config.deletedAtColumn!);
      for (let i = 0; i < refs.length; i += 10_000) {
        const part = refs.slice(i, i + 10_000);
        await run(
          c,
          `UPDATE ${tableName(config)} SET ${stamp} = UTC_TIMESTAMP(3) WHERE ${quoteId(config.keyColumn)} IN (${part.map(() => '?').join(', ')}) AND ${stamp} IS NULL`,
          part,
        );
      }
    },

    classify: classifyMysqlError,
  });
}

/** The `mysql` destination: one row per profile, upserted by profile id. See README.md. */
export const mysqlDestination = createMysqlDestination();
