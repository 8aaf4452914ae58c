/**
 * Query semantics of the fake MongoDB server: BSON comparison order, filter
 * matching, multi-key sort and projection, written from MongoDB's documented
 * behaviour. Documents are stored as `bson` deserialized them with
 * `promoteValues: false`, so numbers arrive as Int32 / Double / Long / Decimal128
 * (or plain numbers when a test builds them by hand).
 *
 * Simplifications, all outside what the connector sends: sorting on an array
 * field compares whole arrays (MongoDB uses the smallest element); Decimal128 is
 * compared as a double; no collation, `$regex`, `$elemMatch`, `$expr` or `$type`.
 */
import { Binary, BSONRegExp, BSONSymbol, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, type Document } from 'bson';

/** A command error the server turns into `{ ok: 0, errmsg, code, codeName }`. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly codeName: string,
  ) {
    super(message);
  }
}

const badValue = (message: string) => new CommandError(message, 2, 'BadValue');

/** MongoDB's cross-type order: MinKey < null < numbers < strings < objects < arrays < binData < ObjectId < bool < Date < Timestamp < regex < MaxKey. */
export function typeRank(v: unknown): number {
  if (v instanceof MinKey) return 1;
  if (v === null || v === undefined) return 2;
  // Timestamp extends Long in bson 7: test it before the numbers.
  if (v instanceof Timestamp) return 11;
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof Int32 || v instanceof Double || v instanceof Long || v instanceof Decimal128) return 3;
  if (typeof v === 'string' || v instanceof BSONSymbol) return 4;
  if (Array.isArray(v)) return 6;
  if (v instanceof Binary) return 7;
  if (v instanceof ObjectId) return 8;
  if (typeof v === 'boolean') return 9;
  if (v instanceof Date) return 10;
  if (v instanceof BSONRegExp || v instanceof RegExp) return 12;
  if (v instanceof MaxKey) return 13;
  return 5;
}

function numeric(v: unknown): { big?: bigint; num: number } {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { big: BigInt(v), num: v } : { num: v };
  if (typeof v === 'bigint') return { big: v, num: Number(v) };
  if (v instanceof Long) return { big: v.toBigInt(), num: v.toNumber() };
  if (v instanceof Int32) return { big: BigInt(v.value), num: v.value };
  if (v instanceof Double) return numeric(v.value);
  if (v instanceof Decimal128) return { num: Number(v.toString()) };
  return { num: Number.NaN };
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compareBytes(a: Uint8Array, b: Uint8Array): -1 | 0 | 1 {
  return sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Total order over BSON values, as the server sorts them. */
export function compareValues(a: unknown, b: unknown): -1 | 0 | 1 {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return sign(ra - rb);
  switch (ra) {
    case 3: {
      const x = numeric(a);
      const y = numeric(b);
      if (x.big !== undefined && y.big !== undefined) return x.big < y.big ? -1 : x.big > y.big ? 1 : 0;
      // NaN sorts below every other number.
      if (Number.isNaN(x.num) || Number.isNaN(y.num)) return sign(Number(!Number.isNaN(x.num)) - Number(!Number.isNaN(y.num)));
      return sign(x.num - y.num);
    }
    case 4:
      return compareBytes(Buffer.from(String(a), 'utf8'), Buffer.from(String(b), 'utf8'));
    case 5:
      return compareDocuments(a as Document, b as Document);
    case 6: {
      const xa = a as unknown[];
      const xb = b as unknown[];
      for (let i = 0; i < Math.min(xa.length, xb.length); i++) {
        const c = compareValues(xa[i], xb[i]);
        if (c) return c;
      }
      return sign(xa.length - xb.length);
    }
    case 7: {
      const x = a as Binary;
      const y = b as Binary;
      return sign(x.length() - y.length()) || sign(x.sub_type - y.sub_type) || compareBytes(x.value(), y.value());
    }
    case 8:
      return compareBytes((a as ObjectId).id, (b as ObjectId).id);
    case 9:
      return sign(Number(a) - Number(b));
    case 10:
      return sign((a as Date).getTime() - (b as Date).getTime());
    case 11: {
      const x = a as Timestamp;
      const y = b as Timestamp;
      return sign(x.t - y.t) || sign(x.i - y.i);
    }
    case 12:
      return sign(String(a).localeCompare(String(b)));
    default:
      return 0;
  }
}

function compareDocuments(a: Document, b: Document): -1 | 0 | 1 {
  const ea = Object.entries(a);
  const eb = Object.entries(b);
  for (let i = 0; i < Math.min(ea.length, eb.length); i++) {
    const [ka, va] = ea[i];
    const [kb, vb] = eb[i];
    const c = sign(typeRank(va) - typeRank(vb)) || compareBytes(Buffer.from(ka), Buffer.from(kb)) || compareValues(va, vb);
    if (c) return c;
  }
  return sign(ea.length - eb.length);
}

function isPlainObject(v: unknown): v is Document {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeRank(v) === 5;
}

/**
 * The values a dotted path reaches, the way a query sees them: arrays on the
 * way are walked into, and an array at the end counts both as itself and as
 * each of its elements. An empty list means the path is missing.
 */
export function valuesAt(doc: unknown, path: string[]): unknown[] {
  if (!path.length) return Array.isArray(doc) ? [doc, ...doc] : [doc];
  if (Array.isArray(doc)) return doc.flatMap((el) => (isPlainObject(el) ? valuesAt(el, path) : []));
  if (!isPlainObject(doc) || !(path[0] in doc)) return [];
  return valuesAt(doc[path[0]], path.slice(1));
}

/** The single value at a path for sorting and projection: missing reads as undefined, arrays are not flattened. */
export function valueAt(doc: Document, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function equals(a: unknown, b: unknown): boolean {
  return typeRank(a) === typeRank(b) && compareValues(a, b) === 0;
}

/** `$gt` and friends only compare values of the same type bracket: `{ $gt: Date }` never matches a string. */
function bracketed(values: unknown[], operand: unknown, test: (c: number) => boolean): boolean {
  return values.some((v) => typeRank(v) === typeRank(operand) && test(compareValues(v, operand)));
}

function matchOperator(values: unknown[], op: string, operand: unknown): boolean {
  const eq = () => (operand === null ? values.length === 0 || values.some((v) => v === null || v === undefined) : values.some((v) => equals(v, operand)));
  switch (op) {
    case '$eq':
      return eq();
    case '$ne':
      return !eq();
    case '$gt':
      return bracketed(values, operand, (c) => c > 0);
    case '$gte':
      return (operand === null && eq()) || bracketed(values, operand, (c) => c >= 0);
    case '$lt':
      return bracketed(values, operand, (c) => c < 0);
    case '$lte':
      return (operand === null && eq()) || bracketed(values, operand, (c) => c <= 0);
    case '$in':
      if (!Array.isArray(operand)) throw badValue('$in needs an array');
      return operand.some((o) => matchOperator(values, '$eq', o));
    case '$nin':
      if (!Array.isArray(operand)) throw badValue('$nin needs an array');
      return !operand.some((o) => matchOperator(values, '$eq', o));
    case '$exists':
      return (values.length > 0) === Boolean(operand);
    case '$not':
      if (!isPlainObject(operand)) throw badValue('$not needs an object');
      return !matchCondition(values, operand);
    default:
      throw badValue(`unknown operator: ${op}`);
  }
}

function matchCondition(values: unknown[], cond: unknown): boolean {
  const isOperatorObject = isPlainObject(cond) && Object.keys(cond).length > 0 && Object.keys(cond).every((k) => k.startsWith('$'));
  if (!isOperatorObject) return matchOperator(values, '$eq', cond);
  return Object.entries(cond).every(([op, operand]) => matchOperator(values, op, operand));
}

/** Does `doc` match the query `filter`? Throws a CommandError for an operator the fake does not know. */
export function matches(doc: Document, filter: Document): boolean {
  return Object.entries(filter).every(([key, cond]) => {
    if (key === '$and' || key === '$or' || key === '$nor') {
      if (!Array.isArray(cond) || !cond.length) throw badValue(`${key} must be a nonempty array`);
      const results = cond.map((sub) => {
        if (!isPlainObject(sub)) throw badValue(`${key} entries must be objects`);
        return matches(doc, sub);
      });
      return key === '$and' ? results.every(Boolean) : key === '$or' ? results.some(Boolean) : !results.some(Boolean);
    }
    if (key.startsWith('$')) throw badValue(`unknown top level operator: ${key}`);
    return matchCondition(valuesAt(doc, key.split('.')), cond);
  });
}

/** Sort by several keys in the order the sort document lists them. */
export function sortDocuments(docs: Document[], sort: Document | undefined): Document[] {
  if (!sort || !Object.keys(sort).length) return docs;
  const keys = Object.entries(sort).map(([path, dir]) => {
    const d = numeric(dir).num;
    if (d !== 1 && d !== -1) throw badValue(`bad sort specification for ${path}`);
    return { path, dir: d };
  });
  return [...docs].sort((a, b) => {
    for (const { path, dir } of keys) {
      const c = compareValues(valueAt(a, path), valueAt(b, path));
      if (c) return c * dir;
    }
    return 0;
  });
}

function truthy(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  return numeric(v).num !== 0;
}

/** Apply an inclusion or exclusion projection (`_id` is kept unless `_id: 0`). */
export function project(doc: Document, projection: Document | undefined): Document {
  if (!projection || !Object.keys(projection).length) return doc;
  const entries = Object.entries(projection);
  const paths = entries.map(([k]) => k);
  for (const p of paths) {
    const clash = paths.find((q) => q !== p && q.startsWith(`${p}.`));
    if (clash) throw new CommandError(`Path collision at ${clash} remaining portion ${clash.slice(p.length + 1)}`, 31249, 'Location31249');
  }
  const inclusion = entries.some(([k, v]) => k !== '_id' && truthy(v));
  const exclusionOf = entries.find(([k, v]) => k !== '_id' && !truthy(v));
  if (inclusion && exclusionOf) throw new CommandError(`Cannot do exclusion on field ${exclusionOf[0]} in inclusion projection`, 31254, 'Location31254');
  const keepId = projection._id === undefined || truthy(projection._id);
  if (!inclusion) {
    const out = structuredCloneDoc(doc);
    for (const [k] of entries) if (k !== '_id' || !keepId) removePath(out, k.split('.'));
    return out;
  }
  const out: Document = {};
  if (keepId && '_id' in doc) out._id = doc._id;
  for (const [k, v] of entries) if (k !== '_id' && truthy(v)) copyPath(doc, out, k.split('.'));
  return out;
}

function structuredCloneDoc(doc: Document): Document {
  const out: Document = {};
  for (const [k, v] of Object.entries(doc)) out[k] = isPlainObject(v) ? structuredCloneDoc(v) : v;
  return out;
}

function removePath(doc: Document, path: string[]): void {
  if (path.length === 1) {
    delete doc[path[0]];
    return;
  }
  const next = doc[path[0]];
  if (isPlainObject(next)) removePath(next, path.slice(1));
}

function copyPath(from: Document, to: Document, path: string[]): void {
  if (!(path[0] in from)) return;
  const v = from[path[0]];
  if (path.length === 1) {
    to[path[0]] = v;
    return;
  }
  if (!isPlainObject(v)) return;
  const target = isPlainObject(to[path[0]]) ? to[path[0]] : (to[path[0]] = {});
  copyPath(v, target, path.slice(1));
}
