import type pg from 'pg';
import { ConfigError } from '../../core/errors.js';
import type { ConfiguredStream, StreamDescriptor } from '../../core/plugin/types.js';
import type { PostgresConfig, PostgresStreamConfig } from './config.js';
import { fieldSchema, isCursorCandidate, keyProblem, kindOf, type ColumnInfo, type PgTypeRow } from './convert.js';
import { queryStreamSource, quoteIdent } from './sql.js';

const TYPE_SQL = `SELECT oid::int8 AS oid, typname, typtype, typcategory, typelem::int8 AS typelem, typbasetype::int8 AS typbasetype, typdelim
  FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])`;

/** pg_type rows for these oids and for every element and base type they lead to. */
export async function loadTypes(client: pg.Client, oids: Iterable<number>): Promise<Map<number, PgTypeRow>> {
  const types = new Map<number, PgTypeRow>();
  let wanted = [...new Set(oids)];
  for (let round = 0; wanted.length && round < 5; round++) {
    const res = await client.query<Record<string, string>>(TYPE_SQL, [wanted.map(String)]);
    const next: number[] = [];
    for (const r of res.rows) {
      const t: PgTypeRow = {
        oid: Number(r.oid),
        typname: r.typname,
        typtype: r.typtype,
        typcategory: r.typcategory,
        typelem: Number(r.typelem),
        typbasetype: Number(r.typbasetype),
        typdelim: r.typdelim,
      };
      types.set(t.oid, t);
      for (const o of [t.typelem, t.typbasetype]) if (o && !types.has(o)) next.push(o);
    }
    wanted = next;
  }
  return types;
}

/** Columns of readable tables, views and materialized views, outside the system schemas. */
const COLUMNS_SQL = `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column, a.atttypid::int8 AS type_oid,
    format_type(a.atttypid, a.atttypmod) AS source_type, (NOT a.attnotnull)::text AS nullable,
    (a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%')::text AS auto_increment
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    AND has_table_privilege(c.oid, 'SELECT')`;

const PK_SQL = `SELECT n.nspname AS schema, c.relname AS table, a.attname AS column
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
  WHERE i.indisprimary`;

interface CatalogColumn {
  schema: string;
  table: string;
  column: string;
  type_oid: string;
  source_type: string;
  nullable: string;
  auto_increment: string;
}

type TableKey = string;
const tableKey = (schema: string, table: string): TableKey => `${schema}\u0000${table}`;

async function readCatalog(client: pg.Client, filter?: { schema: string; table: string }) {
  const where = filter ? ' AND n.nspname = $1 AND c.relname = $2' : '';
  const params = filter ? [filter.schema, filter.table] : [];
  const cols = await client.query<CatalogColumn>(`${COLUMNS_SQL}${where} ORDER BY n.nspname, c.relname, a.attnum`, params);
  const pks = await client.query<{ schema: string; table: string; column: string }>(`${PK_SQL}${where} ORDER BY n.nspname, c.relname, k.ord`, params);
  const types = await loadTypes(client, cols.rows.map((r) => Number(r.type_oid)));
  const tables = new Map<TableKey, { schema: string; table: string; columns: ColumnInfo[]; primaryKey: string[] }>();
  for (const r of cols.rows) {
    const key = tableKey(r.schema, r.table);
    const t = tables.get(key) ?? { schema: r.schema, table: r.table, columns: [], primaryKey: [] };
    const oid = Number(r.type_oid);
    t.columns.push({
      name: r.column,
      typeOid: oid,
      sourceType: r.source_type,
      pg: kindOf(oid, types),
      nullable: r.nullable === 'true',
      autoIncrement: r.auto_increment === 'true',
      singleBit: r.source_type === 'bit(1)',
    });
    tables.set(key, t);
  }
  for (const r of pks.rows) tables.get(tableKey(r.schema, r.table))?.primaryKey.push(r.column);
  return tables;
}

/** Stream name `discover` gives a table: its name, qualified by schema outside `public`. */
export function streamNameOf(schema: string, table: string): string {
  return schema === 'public' ? table : `${schema}.${table}`;
}

/** Every readable table and view with its columns, primary key and cursor candidates. */
export async function discoverTables(client: pg.Client, config: PostgresConfig): Promise<StreamDescriptor[]> {
  const tables = await readCatalog(client);
  return [...tables.values()].map((t) => {
    const visible = t.columns.filter((c) => config.binary === 'base64' || t.primaryKey.includes(c.name) || !isBinary(c));
    return {
      name: streamNameOf(t.schema, t.table),
      fields: Object.fromEntries(visible.map((c) => [c.name, fieldSchema(c)])),
      primaryKey: t.primaryKey,
      cursorCandidates: t.columns.filter(isCursorCandidate).map((c) => c.name),
      supportedModes: t.primaryKey.length ? ['full_refresh', 'incremental'] : ['full_refresh'],
    };
  });
}

function isBinary(c: ColumnInfo): boolean {
  return c.pg.kind === 'bytea' || (c.pg.kind === 'array' && c.pg.element.kind === 'bytea');
}

/** Everything needed to read one stream: where from, which columns, ordered how. */
export interface StreamTarget {
  /** `FROM` clause source: a quoted table or `(<query>) AS q`. */
  from: string;
  /** `table public.customers` or `query customers`. */
  origin: string;
  columns: ColumnInfo[];
  cursor?: ColumnInfo;
  primaryKey: ColumnInfo[];
}

/** A record is a plain object: a column named `__proto__` would silently become its prototype. */
function refuseProtoColumn(stream: string, cols: ColumnInfo[], where: string): void {
  if (cols.some((c) => c.name === '__proto__')) {
    throw new ConfigError(`${where} has a column named __proto__, which a record cannot hold; read it through a query stream under another name`, { stream });
  }
}

function keyColumns(stream: ConfiguredStream<PostgresStreamConfig>, all: ColumnInfo[], tablePk: string[], where: string) {
  const find = (name: string) => all.find((c) => c.name === name);
  const missing = (what: string, name: string) =>
    new ConfigError(`${what} column "${name}" does not exist in ${where} (columns: ${all.map((c) => c.name).join(', ')})`, { stream: stream.name });
  const pkNames = tablePk.length ? tablePk : (stream.primaryKey ?? []);
  if (!pkNames.length) throw new ConfigError(`${where} has no primary key; set the stream's primaryKey to unique, non-null columns`, { stream: stream.name });
  for (const n of stream.primaryKey ?? []) if (!find(n)) throw missing('primary key', n);
  const primaryKey = pkNames.map((n) => {
    const c = find(n);
    if (!c) throw missing('primary key', n);
    return c;
  });
  let cursor: ColumnInfo | undefined;
  if (stream.mode === 'incremental') {
    if (!stream.cursorField) throw new ConfigError(`incremental mode needs a cursor column; set the stream's cursor (${where})`, { stream: stream.name });
    cursor = find(stream.cursorField);
    if (!cursor) throw missing('cursor', stream.cursorField);
  }
  for (const c of [...(cursor ? [cursor] : []), ...primaryKey]) {
    const problem = keyProblem(c);
    if (problem) throw new ConfigError(`cannot page ${where} by ${problem}`, { stream: stream.name });
  }
  return { cursor, primaryKey };
}

/**
 * Check a table stream against the catalog (the table and every named column
 * must exist and be readable) and decide what to select. Only names found in
 * the catalog reach the SQL, quoted, so a stream's config cannot inject anything.
 */
export async function planTable(client: pg.Client, config: PostgresConfig, stream: ConfiguredStream<PostgresStreamConfig>): Promise<StreamTarget> {
  const schema = stream.config.schema ?? 'public';
  const table = stream.config.table!;
  const found = (await readCatalog(client, { schema, table })).get(tableKey(schema, table));
  const where = `table ${schema}.${table}`;
  if (!found) throw new ConfigError(`${where} does not exist (or this user cannot read it)`, { stream: stream.name });
  refuseProtoColumn(stream.name, found.columns, where);
  const keys = keyColumns(stream, found.columns, found.primaryKey, where);
  const keyNames = new Set([keys.cursor?.name, ...keys.primaryKey.map((c) => c.name)]);
  const columns = found.columns.filter((c) => config.binary === 'base64' || keyNames.has(c.name) || !isBinary(c));
  return { from: `${quoteIdent(schema)}.${quoteIdent(table)}`, origin: where, columns, ...keys };
}

/** Check a query stream: it must run, and its result must have the cursor and primary key columns. */
export async function planQuery(client: pg.Client, stream: ConfiguredStream<PostgresStreamConfig>): Promise<StreamTarget> {
  const from = queryStreamSource(stream.config.query!);
  const probe = await client.query({ text: `SELECT * FROM ${from} LIMIT 0`, rowMode: 'array' });
  const types = await loadTypes(client, probe.fields.map((f) => f.dataTypeID));
  const seen = new Set<string>();
  const all: ColumnInfo[] = probe.fields.map((f) => {
    if (seen.has(f.name)) throw new ConfigError(`the query returns two columns named "${f.name}"; alias one of them`, { stream: stream.name });
    seen.add(f.name);
    return {
      name: f.name,
      typeOid: f.dataTypeID,
      sourceType: types.get(f.dataTypeID)?.typname ?? String(f.dataTypeID),
      pg: kindOf(f.dataTypeID, types),
      nullable: true,
      autoIncrement: false,
      singleBit: types.get(f.dataTypeID)?.typname === 'bit' && f.dataTypeModifier === 1,
    };
  });
  refuseProtoColumn(stream.name, all, 'the query');
  const keys = keyColumns(stream, all, [], 'the query');
  return { from, origin: `query ${stream.name}`, columns: all, ...keys };
}
