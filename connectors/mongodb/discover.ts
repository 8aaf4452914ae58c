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
  UUID,
  type Db,
  type Document,
} from 'mongodb';
import type { FieldSchema, StreamDescriptor } from '../../core/plugin/types.js';

/** How many documents of each collection `discover` looks at: the newest ones by `_id`. */
export const SAMPLE_SIZE = 100;

type JsonType = FieldSchema['type'][number];

/** The BSON type name of a value as the server's `$type` names it, and what `toPlain` turns it into. */
function describeValue(v: unknown): { bson: string; json: JsonType[] } {
  if (v === null || v === undefined) return { bson: 'null', json: ['null'] };
  if (typeof v === 'string') return { bson: 'string', json: ['string'] };
  if (typeof v === 'boolean') return { bson: 'bool', json: ['boolean'] };
  if (typeof v === 'number') return { bson: Number.isInteger(v) ? 'int' : 'double', json: [Number.isInteger(v) ? 'integer' : 'number'] };
  if (Array.isArray(v)) return { bson: 'array', json: ['array'] };
  if (v instanceof Date) return { bson: 'date', json: ['string'] };
  if (v instanceof ObjectId) return { bson: 'objectId', json: ['string'] };
  if (v instanceof Int32) return { bson: 'int', json: ['integer'] };
  if (v instanceof Double) return { bson: 'double', json: Number.isFinite(v.value) ? ['number'] : ['string'] };
  // Timestamp extends Long in bson 7: test it first.
  if (v instanceof Timestamp) return { bson: 'timestamp', json: ['object'] };
  // A long becomes a string only past 2^53, so both types are possible.
  if (v instanceof Long) return { bson: 'long', json: ['integer', 'string'] };
  if (v instanceof Decimal128) return { bson: 'decimal', json: ['string'] };
  if (v instanceof UUID || (v instanceof Binary && v.sub_type === Binary.SUBTYPE_UUID)) return { bson: 'uuid', json: ['string'] };
  if (v instanceof Binary) return { bson: 'binData', json: ['string'] };
  if (v instanceof BSONRegExp || v instanceof RegExp) return { bson: 'regex', json: ['string'] };
  if (v instanceof BSONSymbol) return { bson: 'symbol', json: ['string'] };
  if (v instanceof Code) return { bson: 'javascript', json: ['string'] };
  if (v instanceof MinKey) return { bson: 'minKey', json: ['string'] };
  if (v instanceof MaxKey) return { bson: 'maxKey', json: ['string'] };
  if (v instanceof DBRef) return { bson: 'dbRef', json: ['object'] };
  return { bson: 'object', json: ['object'] };
}

interface FieldStats {
  present: number;
  bson: Set<string>;
  json: Set<JsonType>;
}

/**
 * Infer the fields of a collection from sampled documents: every top-level and
 * nested path (`address.city`), with the JSON types records will carry and the
 * BSON types seen. Arrays are reported as arrays; their elements are not walked.
 */
export function inferFields(sample: Document[]): Record<string, FieldSchema> {
  const stats = new Map<string, FieldStats>();
  const visit = (doc: Document, prefix: string) => {
    for (const [k, v] of Object.entries(doc)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const d = describeValue(v);
      let s = stats.get(path);
      if (!s) stats.set(path, (s = { present: 0, bson: new Set(), json: new Set() }));
      s.present++;
      s.bson.add(d.bson);
      for (const t of d.json) s.json.add(t);
      if (d.bson === 'object' && v !== null && typeof v === 'object') visit(v, path);
    }
  };
  for (const doc of sample) visit(doc, '');
  if (!stats.has('_id')) stats.set('_id', { present: sample.length, bson: new Set(['objectId']), json: new Set(['string']) });

  const fields: Record<string, FieldSchema> = {};
  for (const path of [...stats.keys()].sort(byPath)) {
    const s = stats.get(path)!;
    const json = new Set(s.json);
    // A field some documents lack reads as absent: mappings must allow for it.
    if (s.present < sample.length) json.add('null');
    const bson = [...s.bson].filter((t) => t !== 'null').sort();
    const field: FieldSchema = { type: [...json].sort() };
    if (bson.length === 1 && bson[0] === 'date') field.format = 'date-time';
    if (bson.length) field.sourceType = bson.join('|');
    fields[path] = field;
  }
  return fields;
}

/** `_id` first, then alphabetical, which puts a parent (`address`) right before its children (`address.city`). */
function byPath(a: string, b: string): number {
  if (a === '_id') return -1;
  if (b === '_id') return 1;
  return a.localeCompare(b);
}

/**
 * Cursor candidates: fields holding only Dates (or oplog Timestamps), the ones
 * named like "updated"/"modified" first since they also catch updates, then
 * `_id`, which only suits append-only collections.
 */
export function cursorCandidates(fields: Record<string, FieldSchema>): string[] {
  const timeLike = Object.entries(fields)
    .filter(([path, f]) => path !== '_id' && (f.sourceType === 'date' || f.sourceType === 'timestamp'))
    .map(([path]) => path);
  const rank = (p: string) => (/updat|modif|chang/i.test(p) ? 0 : 1);
  timeLike.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return [...timeLike, '_id'];
}

/** List the database's collections and views, sampling each to describe its fields. */
export async function discoverCollections(db: Db): Promise<StreamDescriptor[]> {
  // nameOnly still returns `type`, and with authorizedCollections a user who may only read some collections can list them.
  const infos = await db.listCollections({}, { nameOnly: true, authorizedCollections: true }).toArray();
  const names = infos
    .filter((c) => (c.type === undefined || c.type === 'collection' || c.type === 'view') && !c.name.startsWith('system.'))
    .map((c) => c.name)
    .sort();
  const out: StreamDescriptor[] = [];
  for (const name of names) {
    // promoteValues: false keeps int/long/double apart so sourceType can say which it is.
    const sample = await db
      .collection(name)
      .find({}, { sort: { _id: -1 }, limit: SAMPLE_SIZE, promoteValues: false, promoteLongs: false })
      .toArray();
    const fields = inferFields(sample);
    out.push({
      name,
      fields,
      primaryKey: ['_id'],
      cursorCandidates: cursorCandidates(fields),
      supportedModes: ['incremental', 'full_refresh'],
    });
  }
  return out;
}
