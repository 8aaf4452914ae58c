import type { FieldSchema } from '../../core/plugin/types.js';
import type { KeyValue } from '../sql-common/state.js';
import { UTC, isZeroDate, wallClockToIso, type WallClockZone } from '../sql-common/timestamps.js';

/** How a column's values are read, compared and converted. */
export type ColumnKind =
  | 'int'
  | 'bigint'
  | 'decimal'
  | 'float'
  | 'datetime'
  | 'timestamp'
  | 'date'
  | 'time'
  | 'year'
  | 'json'
  | 'bit'
  | 'binary'
  | 'text'
  | 'geometry';

export interface ColumnInfo {
  name: string;
  kind: ColumnKind;
  /** The type as the server names it (`decimal(12,2)`, `datetime(6)`). */
  sourceType: string;
  nullable: boolean;
  unsigned: boolean;
  /** DECIMAL precision and scale; BIT width in `precision`. */
  precision: number | null;
  scale: number | null;
  autoIncrement: boolean;
}

/** A row of information_schema.COLUMNS (the fields `catalog.ts` selects). */
export interface InformationSchemaColumn {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  IS_NULLABLE: string;
  EXTRA: string;
  NUMERIC_PRECISION: number | string | null;
  NUMERIC_SCALE: number | string | null;
}

const KIND_BY_DATA_TYPE: Record<string, ColumnKind> = {
  tinyint: 'int', smallint: 'int', mediumint: 'int', int: 'int', integer: 'int', bigint: 'bigint',
  decimal: 'decimal', numeric: 'decimal', float: 'float', double: 'float', real: 'float',
  datetime: 'datetime', timestamp: 'timestamp', date: 'date', time: 'time', year: 'year',
  json: 'json', bit: 'bit',
  binary: 'binary', varbinary: 'binary', tinyblob: 'binary', blob: 'binary', mediumblob: 'binary', longblob: 'binary',
  geometry: 'geometry', point: 'geometry', linestring: 'geometry', polygon: 'geometry', multipoint: 'geometry',
  multilinestring: 'geometry', multipolygon: 'geometry', geometrycollection: 'geometry',
};

const num = (v: number | string | null): number | null => (v === null || v === undefined ? null : Number(v));

/** A column as information_schema describes it. `jsonColumns` are MariaDB's JSON (LONGTEXT + json_valid check). */
export function columnFromSchema(c: InformationSchemaColumn, jsonColumns: Set<string> = new Set()): ColumnInfo {
  const dataType = c.DATA_TYPE.toLowerCase();
  const kind = jsonColumns.has(c.COLUMN_NAME) ? 'json' : (KIND_BY_DATA_TYPE[dataType] ?? 'text');
  const bitWidth = kind === 'bit' ? Number(/\((\d+)\)/.exec(c.COLUMN_TYPE)?.[1] ?? 1) : null;
  return {
    name: c.COLUMN_NAME,
    kind,
    sourceType: c.COLUMN_TYPE,
    nullable: c.IS_NULLABLE === 'YES',
    unsigned: /\bunsigned\b/i.test(c.COLUMN_TYPE),
    precision: bitWidth ?? num(c.NUMERIC_PRECISION),
    scale: num(c.NUMERIC_SCALE),
    autoIncrement: /auto_increment/i.test(c.EXTRA),
  };
}

/** What mysql2 tells about a result column (a subset of its FieldPacket). */
export interface ResultField {
  name: string;
  columnType?: number;
  flags: number | string[];
  characterSet?: number;
  columnLength?: number;
  decimals: number;
  extendedFormat?: string;
}

const BINARY_CHARSET = 63;
const FLAG_NOT_NULL = 1;
const FLAG_UNSIGNED = 32;
const KIND_BY_WIRE_TYPE: Record<number, ColumnKind> = {
  0x00: 'decimal', 0xf6: 'decimal', 0x01: 'int', 0x02: 'int', 0x03: 'int', 0x09: 'int', 0x08: 'bigint',
  0x04: 'float', 0x05: 'float', 0x07: 'timestamp', 0x0c: 'datetime', 0x0a: 'date', 0x0e: 'date',
  0x0b: 'time', 0x0d: 'year', 0xf5: 'json', 0x10: 'bit', 0xff: 'geometry',
};

/** A column of a query's result, from the wire metadata (query streams have no information_schema row). */
export function columnFromField(f: ResultField): ColumnInfo {
  const flags = typeof f.flags === 'number' ? f.flags : 0;
  let kind: ColumnKind = KIND_BY_WIRE_TYPE[f.columnType ?? -1] ?? 'text';
  if (f.extendedFormat === 'json') kind = 'json';
  else if (kind === 'text' && f.characterSet === BINARY_CHARSET) kind = 'binary';
  return {
    name: f.name,
    kind,
    sourceType: kind,
    nullable: (flags & FLAG_NOT_NULL) === 0,
    unsigned: (flags & FLAG_UNSIGNED) !== 0,
    precision: kind === 'bit' ? (f.columnLength ?? 1) : null,
    scale: kind === 'decimal' ? f.decimals : null,
    autoIncrement: false,
  };
}

/** The JSON-schema-ish description `discover` returns for a column. */
export function fieldSchema(c: ColumnInfo): FieldSchema {
  const nul = (t: FieldSchema['type']): FieldSchema['type'] => (c.nullable ? [...t, 'null'] : t);
  const sourceType = c.sourceType;
  switch (c.kind) {
    case 'int':
    case 'year':
      return { type: nul(['integer']), sourceType };
    case 'bigint':
      return { type: nul(['integer', 'string']), sourceType };
    case 'decimal':
      return { type: nul(['string']), format: 'decimal', sourceType };
    case 'float':
      return { type: nul(['number']), sourceType };
    case 'datetime':
    case 'timestamp':
      // Zero dates read as null, so these are nullable whatever the column says.
      return { type: ['string', 'null'], format: 'date-time', sourceType };
    case 'date':
      return { type: ['string', 'null'], format: 'date', sourceType };
    case 'time':
      return { type: nul(['string']), format: 'time', sourceType };
    case 'json':
      return { type: ['object', 'array', 'string', 'number', 'boolean', 'null'], sourceType };
    case 'bit':
      return { type: nul((c.precision ?? 1) === 1 ? ['boolean'] : (c.precision ?? 1) > 53 ? ['integer', 'string'] : ['integer']), sourceType };
    case 'binary':
      return { type: nul(['string']), format: 'base64', sourceType };
    case 'geometry':
      return { type: nul(['object']), sourceType };
    default:
      return { type: nul(['string']), sourceType };
  }
}

/** A column that may serve as an incremental cursor: date-times, and auto-increment integers. */
export function isCursorCandidate(c: ColumnInfo): boolean {
  return c.kind === 'datetime' || c.kind === 'timestamp' || ((c.kind === 'int' || c.kind === 'bigint') && c.autoIncrement);
}

export interface ConvertOptions {
  /** Zone DATETIME values are written in. */
  zone: WallClockZone;
  binary: 'skip' | 'base64';
}

/** A converter; `keep` when the driver's value is already the record's value, `skip` to leave the column out. */
export type Converter = ((v: unknown) => unknown) | 'keep' | 'skip';

/** BIGINT arrives as a decimal string: a number when it is exact in JS, the string otherwise. */
export function bigintValue(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

/** BIT(n) arrives as big-endian bytes: BIT(1) is a boolean, wider ones a number (a decimal string past 2^53). */
export function bitValue(v: unknown, width: number): unknown {
  if (!Buffer.isBuffer(v)) return v;
  let n = 0n;
  for (const byte of v) n = (n << 8n) | BigInt(byte);
  if (width === 1) return n !== 0n;
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/**
 * How one column's value becomes a record value. Values arrive from mysql2 as
 * `connection.ts` configures it: INT, FLOAT, YEAR as numbers, DECIMAL, TIME and
 * text as strings, MySQL JSON (and MariaDB JSON, seen through extended metadata)
 * parsed, GEOMETRY as objects: those are kept as they are.
 */
export function converterFor(c: ColumnInfo, o: ConvertOptions): Converter {
  switch (c.kind) {
    case 'bigint':
      return bigintValue;
    case 'datetime':
      return (v) => (typeof v === 'string' ? wallClockToIso(v, o.zone) : v);
    case 'timestamp':
      return (v) => (typeof v === 'string' ? wallClockToIso(v, UTC) : v);
    case 'date':
      return (v) => (typeof v === 'string' && isZeroDate(v) ? null : v);
    case 'bit': {
      const width = c.precision ?? 1;
      return (v) => bitValue(v, width);
    }
    case 'json':
      // Text from a column the driver could not see as JSON (a query over MariaDB JSON) is parsed here.
      return (v) => {
        if (typeof v !== 'string') return v;
        try {
          return JSON.parse(v) as unknown;
        } catch {
          return v;
        }
      };
    case 'binary':
      if (o.binary === 'skip') return 'skip';
      return (v) => (Buffer.isBuffer(v) ? v.toString('base64') : v);
    default:
      return 'keep';
  }
}

/** Whether keyset pages can compare this column exactly against a value sent back to the server. */
export function keyProblem(c: ColumnInfo): string | undefined {
  if (c.kind === 'float') return `${c.name} is ${c.sourceType}: approximate numbers cannot be compared exactly`;
  if (c.kind === 'json' || c.kind === 'geometry' || c.kind === 'bit') return `${c.name} is ${c.sourceType}, which has no usable order`;
  return undefined;
}

/** A key value as it can be saved in JSON state: raw text and numbers as they are, bytes as base64. */
export function toKeyValue(v: unknown): KeyValue | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return { b64: v.toString('base64') };
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  return String(v);
}
