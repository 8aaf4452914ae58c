import type { FieldSchema } from '../../core/plugin/types.js';
import type { KeyValue } from '../sql-common/state.js';
import { offsetTimestampToIso, wallClockToIso, type WallClockZone } from '../sql-common/timestamps.js';
import { mapPgArray, parsePgArray } from './pg-array.js';

/** How a column's values are converted. Arrays carry the kind of their elements. */
export type ScalarKind = 'int' | 'bigint' | 'numeric' | 'float' | 'bool' | 'json' | 'timestamptz' | 'timestamp' | 'date' | 'bytea' | 'bit' | 'text';
export type PgKind = { kind: ScalarKind } | { kind: 'array'; element: PgKind; delimiter: string };

/** A row of pg_type: enough to follow domains and arrays down to a base type. */
export interface PgTypeRow {
  oid: number;
  typname: string;
  /** `b` base, `d` domain, `e` enum, `c` composite, `r` range, `m` multirange. */
  typtype: string;
  typcategory: string;
  typelem: number;
  typbasetype: number;
  typdelim: string;
}

const BASE_KIND: Record<string, ScalarKind> = {
  int2: 'int', int4: 'int', oid: 'int', xid: 'int', cid: 'int',
  int8: 'bigint', numeric: 'numeric', money: 'text',
  float4: 'float', float8: 'float', bool: 'bool',
  json: 'json', jsonb: 'json',
  timestamptz: 'timestamptz', timestamp: 'timestamp', date: 'date',
  bytea: 'bytea', bit: 'bit', varbit: 'bit',
};

/** The kind of a type oid, following domains to their base type and arrays to their element type. */
export function kindOf(oid: number, types: Map<number, PgTypeRow>, depth = 0): PgKind {
  const t = types.get(oid);
  if (!t || depth > 10) return { kind: 'text' };
  if (t.typtype === 'd') return kindOf(t.typbasetype, types, depth + 1);
  if (t.typcategory === 'A' && t.typelem) return { kind: 'array', element: kindOf(t.typelem, types, depth + 1), delimiter: types.get(t.typelem)?.typdelim ?? ',' };
  return { kind: BASE_KIND[t.typname] ?? 'text' };
}

export interface ColumnInfo {
  name: string;
  typeOid: number;
  /** The type as the server names it (`numeric(12,2)`, `timestamp with time zone`). */
  sourceType: string;
  pg: PgKind;
  nullable: boolean;
  /** An identity column or one whose default is `nextval(...)`. */
  autoIncrement: boolean;
  /** bit(1): read as a boolean. */
  singleBit: boolean;
}

function scalarSchema(k: PgKind): FieldSchema {
  switch (k.kind) {
    case 'int':
      return { type: ['integer'] };
    case 'bigint':
      return { type: ['integer', 'string'] };
    case 'numeric':
      return { type: ['string'], format: 'decimal' };
    case 'float':
      return { type: ['number', 'string'] };
    case 'bool':
      return { type: ['boolean'] };
    case 'json':
      return { type: ['object', 'array', 'string', 'number', 'boolean', 'null'] };
    case 'timestamptz':
    case 'timestamp':
      return { type: ['string'], format: 'date-time' };
    case 'date':
      return { type: ['string'], format: 'date' };
    case 'bytea':
      return { type: ['string'], format: 'base64' };
    case 'array':
      return { type: ['array'] };
    default:
      return { type: ['string'] };
  }
}

/** The JSON-schema-ish description `discover` returns for a column. */
export function fieldSchema(c: ColumnInfo): FieldSchema {
  const base = c.singleBit ? { type: ['boolean'] as FieldSchema['type'] } : scalarSchema(c.pg);
  const type = c.nullable && !base.type.includes('null') ? [...base.type, 'null' as const] : base.type;
  return { ...base, type, sourceType: c.sourceType };
}

/** A column that may serve as an incremental cursor: timestamps, and identity or serial integers. */
export function isCursorCandidate(c: ColumnInfo): boolean {
  return c.pg.kind === 'timestamp' || c.pg.kind === 'timestamptz' || ((c.pg.kind === 'int' || c.pg.kind === 'bigint') && c.autoIncrement);
}

/** Why this column cannot order keyset pages, if it cannot. */
export function keyProblem(c: ColumnInfo): string | undefined {
  if (c.pg.kind === 'json') return `${c.name} is ${c.sourceType}, which has no usable order`;
  return undefined;
}

export interface ConvertOptions {
  zone: WallClockZone;
  binary: 'skip' | 'base64';
}

/** A converter; `keep` when the server's text is the record's value, `skip` to leave the column out. */
export type Converter = ((text: string) => unknown) | 'keep' | 'skip';

/** int8 text: a number when it is exact in JS, the decimal string otherwise. */
export function bigintValue(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}

/** float text: a number, or the text for NaN and ±Infinity (JSON has neither). */
export function floatValue(text: string): number | string {
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

/** bytea in hex output (`\x0aff`) as base64. */
export function byteaBase64(text: string): string {
  return text.startsWith('\\x') ? Buffer.from(text.slice(2), 'hex').toString('base64') : Buffer.from(text, 'latin1').toString('base64');
}

const identity = (t: string): string => t;

function scalarConverter(k: PgKind, o: ConvertOptions): (text: string) => unknown {
  switch (k.kind) {
    case 'int':
      return Number;
    case 'bigint':
      return bigintValue;
    case 'float':
      return floatValue;
    case 'bool':
      return (t) => t === 't';
    case 'json':
      return (t) => JSON.parse(t) as unknown;
    case 'timestamptz':
      return offsetTimestampToIso;
    case 'timestamp':
      return (t) => wallClockToIso(t, o.zone);
    case 'bytea':
      return byteaBase64;
    case 'array': {
      const element = scalarConverter(k.element, o);
      return (t) => mapPgArray(parsePgArray(t, k.delimiter), element);
    }
    default:
      // numeric, date, time, interval, uuid, text, enums, ranges: the server's text is the value.
      return identity;
  }
}

/** How one column's text becomes a record value, or `skip` to leave it out. */
export function converterFor(c: ColumnInfo, o: ConvertOptions): Converter {
  if (c.singleBit) return (t) => t === '1';
  const binary = c.pg.kind === 'bytea' || (c.pg.kind === 'array' && c.pg.element.kind === 'bytea');
  if (binary && o.binary === 'skip') return 'skip';
  const conv = scalarConverter(c.pg, o);
  return conv === identity ? 'keep' : conv;
}

/** Key values are the server's own text, sent back unchanged: PostgreSQL infers each parameter's type from its column. */
export function toKeyValue(v: unknown): KeyValue | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' || typeof v === 'number' ? v : String(v);
}
