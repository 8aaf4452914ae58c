import {
  Binary,
  BSONRegExp,
  BSONSymbol,
  Code,
  DBRef,
  Decimal128,
  Double,
  Int32,
  Long,
  MaxKey,
  MinKey,
  ObjectId,
  Timestamp,
} from 'mongodb';
import type { JsonValue } from '../../core/plugin/types.js';

/**
 * BSON value -> plain JSON value, the shape records carry into the engine.
 *
 * - ObjectId -> 24-char hex string
 * - Date -> ISO-8601 UTC string (`2024-05-01T10:00:00.000Z`); a date outside JavaScript's range -> null
 * - Decimal128 -> its exact decimal string (`"1234.5600"`), never a lossy float
 * - Long -> number while it fits in 2^53, string beyond
 * - Binary -> base64 string; UUID (subtype 4) -> canonical `xxxxxxxx-xxxx-...` string
 * - NaN / ±Infinity -> the strings "NaN", "Infinity", "-Infinity" (JSON has no such numbers)
 * - Timestamp -> `{ t, i }`; regex -> `/pattern/flags`; DBRef -> `{ $ref, $id, $db? }`
 * - nested documents stay nested and arrays stay arrays, so mappings can use `address.city`.
 */
export function toPlain(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return plainNumber(value);
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case 'object':
      break;
    default:
      return null;
  }
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof ObjectId) return value.toHexString();
  if (value instanceof Decimal128) return value.toString();
  // Timestamp extends Long in bson 7: test it first.
  if (value instanceof Timestamp) return { t: value.t, i: value.i };
  if (value instanceof Long) return longToPlain(value);
  if (value instanceof Int32 || value instanceof Double) return plainNumber(value.valueOf());
  if (value instanceof Binary) return value.sub_type === Binary.SUBTYPE_UUID && value.length() === 16 ? value.toUUID().toString() : value.toString('base64');
  if (value instanceof BSONRegExp) return `/${value.pattern}/${value.options}`;
  if (value instanceof RegExp) return value.toString();
  if (value instanceof BSONSymbol) return value.valueOf();
  if (value instanceof Code) return value.code;
  if (value instanceof MinKey) return 'MinKey';
  if (value instanceof MaxKey) return 'MaxKey';
  if (value instanceof DBRef) {
    const ref: { [key: string]: JsonValue } = { $ref: value.collection, $id: toPlain(value.oid) };
    if (value.db) ref.$db = value.db;
    return ref;
  }
  const out: { [key: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
  return out;
}

/** A whole document as a record's `data`. */
export function toPlainDocument(doc: Record<string, unknown>): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(doc)) out[k] = toPlain(v);
  return out;
}

function plainNumber(n: number): JsonValue {
  return Number.isFinite(n) ? n : String(n);
}

function longToPlain(l: Long): JsonValue {
  const max = Long.fromNumber(Number.MAX_SAFE_INTEGER);
  const min = Long.fromNumber(Number.MIN_SAFE_INTEGER);
  return l.lessThanOrEqual(max) && l.greaterThanOrEqual(min) ? l.toNumber() : l.toString();
}

/** The value at a dotted path of a raw document (`meta.updatedAt`). Arrays are not traversed. */
export function valueAt(doc: Record<string, unknown>, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
