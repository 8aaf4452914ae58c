import { BSON, Decimal128, Long, ObjectId, Timestamp } from 'mongodb';
import { z } from 'zod';
import type { StreamState } from '../../core/plugin/types.js';

const tagged = z.discriminatedUnion('type', [
  z.object({ type: z.literal('objectId'), value: z.string().regex(/^[0-9a-fA-F]{24}$/) }),
  z.object({ type: z.literal('date'), value: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO date') }),
  z.object({ type: z.literal('string'), value: z.string() }),
  z.object({ type: z.literal('number'), value: z.number() }),
  z.object({ type: z.literal('long'), value: z.string().regex(/^-?\d+$/) }),
  z.object({ type: z.literal('decimal'), value: z.string() }),
  z.object({ type: z.literal('ejson'), value: z.record(z.string(), z.json()) }),
]);

/**
 * A cursor position (a cursor field's value or an `_id`) tagged with its BSON type
 * so it survives JSON without losing precision or type: the server compares a
 * Date only with Dates, an ObjectId only with ObjectIds, so the type matters as
 * much as the value.
 *
 * Common types are readable (`{"type":"date","value":"2024-05-01T10:00:00.000Z"}`);
 * anything else uses canonical Extended JSON (`{"type":"ejson","value":{...}}`).
 */
export type TaggedValue = z.infer<typeof tagged>;

/** A BSON value (as the driver returns it) to its tagged JSON form. */
export function encodeValue(v: unknown): TaggedValue {
  if (v instanceof ObjectId) return { type: 'objectId', value: v.toHexString() };
  if (v instanceof Date && !Number.isNaN(v.getTime())) return { type: 'date', value: v.toISOString() };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'number' && Number.isFinite(v)) return { type: 'number', value: v };
  // Timestamp extends Long in bson 7; it goes to the Extended JSON fallback below.
  if (v instanceof Long && !(v instanceof Timestamp)) return { type: 'long', value: v.toString() };
  if (v instanceof Decimal128) return { type: 'decimal', value: v.toString() };
  const canonical: Record<string, z.core.util.JSONType> = JSON.parse(BSON.EJSON.stringify({ v }, { relaxed: false }));
  return { type: 'ejson', value: canonical };
}

/** The BSON value a tagged form stands for, ready to put in a query. Throws on a malformed value. */
export function decodeValue(t: TaggedValue): unknown {
  switch (t.type) {
    case 'objectId':
      return ObjectId.createFromHexString(t.value);
    case 'date':
      return new Date(t.value);
    case 'string':
    case 'number':
      return t.value;
    case 'long':
      return Long.fromString(t.value);
    case 'decimal':
      return Decimal128.fromString(t.value);
    case 'ejson': {
      if (!('v' in t.value)) throw new Error('expected {"v": <canonical Extended JSON>}');
      return BSON.EJSON.deserialize(t.value, { relaxed: false }).v;
    }
  }
}

/**
 * The state a MongoDB stream saves. Incremental: the last (cursor value, `_id`)
 * read, in sort order. Full refresh: the last `_id` of an unfinished pass, or
 * `done` once a pass completed (the next run starts a new pass).
 */
const stateSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('incremental'),
    cursorField: z.string().min(1),
    after: z.object({ value: tagged, id: tagged.optional() }).optional(),
  }),
  z.object({ kind: z.literal('full_refresh'), after: tagged.optional(), done: z.boolean().optional() }),
]);

export type MongodbStreamState = z.infer<typeof stateSchema>;

export type ParsedState = { ok: true; state: MongodbStreamState | undefined } | { ok: false; reason: string };

/** Read a saved state; a state this connector did not write is reported, not guessed at. */
export function parseState(raw: StreamState | undefined): ParsedState {
  if (raw === undefined) return { ok: true, state: undefined };
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  try {
    // Decoding proves the tagged values are usable (a valid decimal, valid Extended JSON).
    const s = parsed.data;
    if (s.kind === 'incremental' && s.after) {
      decodeValue(s.after.value);
      if (s.after.id) decodeValue(s.after.id);
    }
    if (s.kind === 'full_refresh' && s.after) decodeValue(s.after);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  return { ok: true, state: parsed.data };
}

/** A state as the engine stores it (plain JSON). */
export function toStreamState(s: MongodbStreamState): StreamState {
  const out: StreamState = { kind: s.kind };
  if (s.kind === 'incremental') {
    out.cursorField = s.cursorField;
    if (s.after) out.after = s.after.id ? { value: s.after.value, id: s.after.id } : { value: s.after.value };
  } else {
    if (s.after) out.after = s.after;
    if (s.done) out.done = true;
  }
  return out;
}

/** The incremental position after a document: its cursor value and, unless the cursor is `_id`, its `_id`. */
export function incrementalState(cursorField: string, value: unknown, id?: unknown): MongodbStreamState {
  const after: { value: TaggedValue; id?: TaggedValue } = { value: encodeValue(value) };
  if (id !== undefined) after.id = encodeValue(id);
  return { kind: 'incremental', cursorField, after };
}
