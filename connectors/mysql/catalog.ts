import type { RowDataPacket } from 'mysql2/promise';
import { ConfigError } from '../../core/errors.js';
import type { ConfiguredStream, StreamDescriptor } from '../../core/plugin/types.js';
import type { MysqlConfig, MysqlStreamConfig } from './config.js';
import type { MysqlConnection } from './connection.js';
import {
  columnFromField,
  columnFromSchema,
  fieldSchema,
  isCursorCandidate,
  keyProblem,
  type ColumnInfo,
  type InformationSchemaColumn,
  type ResultField,
} from './convert.js';
import { queryStreamSource, quoteIdent } from './sql.js';

const COLUMNS_SQL = `SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, EXTRA, NUMERIC_PRECISION, NUMERIC_SCALE
  FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?`;

type ColumnRow = InformationSchemaColumn & { TABLE_NAME: string };

/** MariaDB's JSON is LONGTEXT with a `json_valid(col)` check; find those columns (table -> columns). */
async function mariadbJsonColumns(conn: MysqlConnection, schema: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  try {
    const [rows] = await conn.query<RowDataPacket[]>('SELECT * FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?', [schema]);
    for (const r of rows) {
      const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(r.CHECK_CLAUSE ?? ''));
      if (!m || typeof r.TABLE_NAME !== 'string') continue;
      const set = out.get(r.TABLE_NAME) ?? new Set<string>();
      set.add(m[1].replace(/``/g, '`'));
      out.set(r.TABLE_NAME, set);
    }
  } catch {
    // MySQL before 8.0.16 has no CHECK_CONSTRAINTS, and its JSON type needs no detection.
  }
  return out;
}

async function primaryKeys(conn: MysqlConnection, schema: string, table?: string): Promise<Map<string, string[]>> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
      WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'PRIMARY'${table === undefined ? '' : ' AND TABLE_NAME = ?'}
      ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    table === undefined ? [schema] : [schema, table],
  );
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.TABLE_NAME, [...(out.get(r.TABLE_NAME) ?? []), r.COLUMN_NAME]);
  return out;
}

/** Every table and view of the configured database, with its columns, primary key and cursor candidates. */
export async function discoverTables(conn: MysqlConnection, config: MysqlConfig): Promise<StreamDescriptor[]> {
  const schema = config.database;
  const [rows] = await conn.query<RowDataPacket[]>(`${COLUMNS_SQL} ORDER BY TABLE_NAME, ORDINAL_POSITION`, [schema]);
  const pks = await primaryKeys(conn, schema);
  const json = await mariadbJsonColumns(conn, schema);
  const byTable = new Map<string, ColumnInfo[]>();
  for (const r of rows as ColumnRow[]) {
    const col = columnFromSchema(r, json.get(r.TABLE_NAME));
    byTable.set(r.TABLE_NAME, [...(byTable.get(r.TABLE_NAME) ?? []), col]);
  }
  return [...byTable].map(([name, cols]) => {
    const primaryKey = pks.get(name) ?? [];
    const visible = cols.filter((c) => c.kind !== 'binary' || config.binary === 'base64' || primaryKey.includes(c.name));
    return {
      name,
      fields: Object.fromEntries(visible.map((c) => [c.name, fieldSchema(c)])),
      primaryKey,
      cursorCandidates: cols.filter(isCursorCandidate).map((c) => c.name),
      supportedModes: primaryKey.length ? ['full_refresh', 'incremental'] : ['full_refresh'],
    };
  });
}

/** Everything needed to read one stream: where from, which columns, ordered how. */
export interface StreamTarget {
  /** `FROM` clause source: a quoted table or `(<query>) AS q`. */
  from: string;
  /** `table shop.customers` or `query customers`. */
  origin: string;
  /** Columns selected, in order. */
  columns: ColumnInfo[];
  cursor?: ColumnInfo;
  primaryKey: ColumnInfo[];
}

/** Match a configured column name to the catalog's spelling (MySQL column names ignore case). */
function findColumn(cols: ColumnInfo[], name: string): ColumnInfo | undefined {
  return cols.find((c) => c.name === name) ?? cols.find((c) => c.name.toLowerCase() === name.toLowerCase());
}

/** A record is a plain object: a column named `__proto__` would silently become its prototype. */
function refuseProtoColumn(stream: string, cols: ColumnInfo[], where: string): void {
  if (cols.some((c) => c.name === '__proto__')) {
    throw new ConfigError(`${where} has a column named __proto__, which a record cannot hold; read it through a query stream under another name`, { stream });
  }
}

function keyColumns(stream: ConfiguredStream<MysqlStreamConfig>, all: ColumnInfo[], tablePk: string[], where: string): { cursor?: ColumnInfo; primaryKey: ColumnInfo[] } {
  const missing = (what: string, name: string) =>
    new ConfigError(`${what} column "${name}" does not exist in ${where} (columns: ${all.map((c) => c.name).join(', ')})`, { stream: stream.name });
  const pkNames = tablePk.length ? tablePk : (stream.primaryKey ?? []);
  if (!pkNames.length) throw new ConfigError(`${where} has no primary key; set the stream's primaryKey to unique, non-null columns`, { stream: stream.name });
  const primaryKey = pkNames.map((n) => findColumn(all, n) ?? (() => { throw missing('primary key', n); })());
  // A configured primaryKey that the table lacks is a typo worth reporting, even when the table's own key is used.
  for (const n of stream.primaryKey ?? []) if (!findColumn(all, n)) throw missing('primary key', n);
  let cursor: ColumnInfo | undefined;
  if (stream.mode === 'incremental') {
    if (!stream.cursorField) throw new ConfigError(`incremental mode needs a cursor column; set the stream's cursor (${where})`, { stream: stream.name });
    cursor = findColumn(all, stream.cursorField);
    if (!cursor) throw missing('cursor', stream.cursorField);
  }
  for (const c of [...(cursor ? [cursor] : []), ...primaryKey]) {
    const problem = keyProblem(c);
    if (problem) throw new ConfigError(`cannot page ${where} by ${problem}`, { stream: stream.name });
  }
  return { cursor, primaryKey };
}

/**
 * Check a table stream against information_schema (the table and every named
 * column must exist) and decide what to select. Only names found in the catalog
 * reach the SQL, quoted, so a stream's config cannot inject anything.
 */
export async function planTable(conn: MysqlConnection, config: MysqlConfig, stream: ConfiguredStream<MysqlStreamConfig>): Promise<StreamTarget> {
  const schema = stream.config.schema ?? config.database;
  const table = stream.config.table!;
  const [rows] = await conn.query<RowDataPacket[]>(`${COLUMNS_SQL} AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, [schema, table]);
  const exact = (rows as ColumnRow[]).filter((r) => r.TABLE_NAME === table);
  const found = exact.length ? exact : (rows as ColumnRow[]);
  if (!found.length) throw new ConfigError(`table ${schema}.${table} does not exist (or this user cannot see it)`, { stream: stream.name });
  const tableName = found[0].TABLE_NAME;
  const json = (await mariadbJsonColumns(conn, schema)).get(tableName);
  const all = found.map((r) => columnFromSchema(r, json));
  const pk = (await primaryKeys(conn, schema, tableName)).get(tableName) ?? [];
  const where = `table ${schema}.${tableName}`;
  refuseProtoColumn(stream.name, all, where);
  const keys = keyColumns(stream, all, pk, where);
  const keyNames = new Set([keys.cursor?.name, ...keys.primaryKey.map((c) => c.name)]);
  const columns = all.filter((c) => c.kind !== 'binary' || config.binary === 'base64' || keyNames.has(c.name));
  return { from: `${quoteIdent(schema)}.${quoteIdent(tableName)}`, origin: where, columns, ...keys };
}

/** Check a query stream: it must run, and its result must have the cursor and primary key columns. */
export async function planQuery(conn: MysqlConnection, stream: ConfiguredStream<MysqlStreamConfig>): Promise<StreamTarget> {
  const from = queryStreamSource(stream.config.query!);
  const [, fields] = await conn.query({ sql: `SELECT * FROM ${from} LIMIT 0`, rowsAsArray: true });
  const all = (fields as ResultField[]).map(columnFromField);
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c.name)) throw new ConfigError(`the query returns two columns named "${c.name}"; alias one of them`, { stream: stream.name });
    seen.add(c.name);
  }
  refuseProtoColumn(stream.name, all, 'the query');
  const keys = keyColumns(stream, all, [], 'the query');
  return { from, origin: `query ${stream.name}`, columns: all, ...keys };
}
