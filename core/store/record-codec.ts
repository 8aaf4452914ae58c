import type Database from 'better-sqlite3';
import { BUILT_IN_IDENTIFIER_TYPES, type CanonicalRecord, type Identifier } from '../schema/canonical.js';

/**
 * A record's body as its row keeps it (schema 4, issue 13). The row's columns already hold
 * `kind`, `source`, `stream`, `record_id` and `observed_at`, so the body leaves them out, and
 * each identifier is a short array instead of an object:
 *
 *   {"i":[[0,"ann@x.org"],[2,"42","crm"],[0,"bob@x.org",null," Bob@X.org "]],"u":{...},"event":{...}}
 *
 * `i` is the record's identifiers, each `[type, value]`, `[type, value, namespace]` or
 * `[type, value, namespace or null, raw]`, a built-in type written as its index in
 * BUILT_IN_IDENTIFIER_TYPES; `t` is its traits, or `u` its traits without the email and phone
 * traits mapping copies from the identifiers (rebuilt on reading); every other key (`event`, `consent`,
 * `warnings`, `expiredAt`) is written as it is, in the record's order, so SQL that reads
 * `$.warnings` or `$.expiredAt` still works. About 40% of the bytes of the plain JSON.
 *
 * Decoding gives back the record exactly, key order included. A record the compact form could
 * not give back that way (other key order, unexpected identifier fields, a header that is not
 * text) is stored as plain JSON, which is also what schema 3 and before wrote; a body with a
 * `kind` is plain and read as it is.
 */

/** A record's row as selected with RECORD_COLUMNS. */
export type RecordRow = Readonly<Record<string, unknown>>;

/** The columns a reader selects along with `body` to decode it. */
export const RECORD_COLUMNS = 'kind, source, stream, record_id, observed_at, body';


interface CompactBody {
  i: CompactIdentifier[];
  /** The traits as they are, or `u`: the traits before mapping filled in email and phone from the identifiers. */
  t?: Record<string, unknown>;
  u?: Record<string, unknown>;
  [rest: string]: unknown;
}

const HEAD = ['kind', 'source', 'stream', 'recordId', 'observedAt', 'identifiers', 'traits'];
const TYPE_INDEX = new Map<string, number>(BUILT_IN_IDENTIFIER_TYPES.map((t, i) => [t, i]));

export function encodeRecord(r: CanonicalRecord): string {
  return compactBody(r) ?? JSON.stringify(r);
}

/**
 * The compact body, or undefined when it would not decode back to exactly `r`. Built as one
 * object and written with one JSON.stringify: several small calls per record cost more.
 */
function compactBody(r: CanonicalRecord): string | undefined {
  const record = r as unknown as Record<string, unknown>;
  let n = 0;
  let rest = false;
  for (const key in record) {
    if (n < HEAD.length) {
      if (key !== HEAD[n]) return undefined;
      if (n < 5 && typeof record[key] !== 'string') return undefined;
      n++;
      continue;
    }
    if (key === 'i' || key === 't' || key === 'u' || key === '__proto__') return undefined;
    rest = true;
  }
  if (n < HEAD.length || r.traits === undefined || !Array.isArray(r.identifiers)) return undefined;
  const ids = compactIdentifiers(r.identifiers);
  if (ids === undefined) return undefined;
  const own = traitsBeforeFill(r.traits, r.identifiers);
  const body: Record<string, unknown> = own === undefined ? { i: ids, t: r.traits } : { i: ids, u: own };
  // JSON.stringify leaves out what it cannot write (undefined, functions), as for the plain body.
  // The keys after the head walked again rather than listed: a list grown by push starts at 17 slots.
  if (rest) {
    n = 0;
    for (const key in record) if (n++ >= HEAD.length) body[key] = record[key];
  }
  return JSON.stringify(body);
}

/** Identifier types whose first value mapping copies into a trait of the same name when none was mapped. */
const FILLED = new Set(['email', 'phone']);

/** What mapping.ts does after the mapped traits: the first email and phone identifiers become traits if absent. */
function fillFromIdentifiers(traits: Record<string, unknown>, ids: Identifier[]): Record<string, unknown> {
  for (const id of ids) if (FILLED.has(id.type) && traits[id.type] === undefined) traits[id.type] = id.value;
  return traits;
}

/**
 * The traits without the copies of identifier values mapping appended (about 40 bytes a record),
 * or undefined when filling them in again would not give exactly `traits` back, key order included.
 */
function traitsBeforeFill(traits: Record<string, unknown>, ids: Identifier[]): Record<string, unknown> | undefined {
  if (traits === null || typeof traits !== 'object' || Array.isArray(traits)) return undefined;
  const keys = Object.keys(traits);
  // The filled traits are the last keys; at most one each for email and phone.
  let cut = keys.length;
  while (cut > 0 && keys.length - cut < FILLED.size && FILLED.has(keys[cut - 1])) cut--;
  if (cut === keys.length) return undefined;
  const own: Record<string, unknown> = {};
  for (let k = 0; k < cut; k++) {
    const v = traits[keys[k]];
    // An undefined trait would be filled in place (JSON leaves it out); __proto__ cannot be set as a key.
    if (v === undefined || keys[k] === '__proto__') return undefined;
    own[keys[k]] = v;
  }
  // Filling in again must append exactly the cut keys, in order, with the same values.
  let next = cut;
  for (const id of ids) {
    if (!FILLED.has(id.type) || own[id.type] !== undefined) continue;
    const filled = keys.indexOf(id.type, cut);
    if (filled >= 0 && filled < next) continue;
    if (next >= keys.length || keys[next] !== id.type || traits[id.type] !== id.value) return undefined;
    next++;
  }
  return next === keys.length ? own : undefined;
}

type CompactIdentifier = [number | string, string] | [number | string, string, string | null] | [number | string, string, string | null, unknown];

function compactIdentifiers(ids: Identifier[]): CompactIdentifier[] | undefined {
  const out: CompactIdentifier[] = new Array(ids.length);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k];
    if (id === null || typeof id !== 'object') return undefined;
    // Fields must be type, value, then optionally namespace and raw, in that order.
    let step = 0;
    for (const key in id) {
      const at = key === 'type' ? 0 : key === 'value' ? 1 : key === 'namespace' ? 2 : key === 'raw' ? 3 : -1;
      if (at < step) return undefined;
      step = at + 1;
    }
    if (typeof id.type !== 'string' || typeof id.value !== 'string') return undefined;
    if (id.namespace !== undefined && typeof id.namespace !== 'string') return undefined;
    const type = TYPE_INDEX.get(id.type) ?? id.type;
    out[k] =
      id.raw !== undefined ? [type, id.value, id.namespace ?? null, id.raw] : id.namespace !== undefined ? [type, id.value, id.namespace] : [type, id.value];
  }
  return out;
}

/** The record a row holds. */
export function decodeRecord(row: RecordRow): CanonicalRecord {
  const parsed = JSON.parse(row.body as string) as CompactBody | CanonicalRecord;
  if ('kind' in parsed) return parsed as CanonicalRecord;
  const { i, t, u, ...rest } = parsed;
  const identifiers = i.map(identifierOf);
  return {
    kind: row.kind as CanonicalRecord['kind'],
    source: row.source as string,
    stream: row.stream as string,
    recordId: row.record_id as string,
    observedAt: row.observed_at as string,
    identifiers,
    traits: t ?? fillFromIdentifiers(u as Record<string, unknown>, identifiers),
    ...rest,
  };
}

/** A record's identifiers, from its body alone (the links of a row are indexes into them). */
export function identifiersOfBody(body: string): Identifier[] {
  const parsed = JSON.parse(body) as CompactBody | CanonicalRecord;
  return 'kind' in parsed ? (parsed as CanonicalRecord).identifiers : parsed.i.map(identifierOf);
}

function identifierOf(s: CompactIdentifier): Identifier {
  const type = typeof s[0] === 'number' ? BUILT_IN_IDENTIFIER_TYPES[s[0]] : s[0];
  const id: Identifier = { type, value: s[1] };
  if (s.length > 2 && s[2] !== null) id.namespace = s[2];
  if (s.length > 3) id.raw = s[3] as string;
  return id;
}

/**
 * Migration 4: every plain record body rewritten compactly, in the store's write transaction.
 * A body whose header differs from its row's columns stays plain (decoding it compact would
 * put the columns' values in its place).
 */
export function compactStoredRecords(db: Database.Database): void {
  const page = db.prepare(`SELECT seq, ${RECORD_COLUMNS} FROM records WHERE seq > ? ORDER BY seq LIMIT 1000`);
  const put = db.prepare('UPDATE records SET body = ? WHERE seq = ?');
  let after = 0;
  for (;;) {
    const rows = page.all(after) as Array<RecordRow & { seq: number; body: string }>;
    if (!rows.length) return;
    for (const row of rows) {
      after = row.seq;
      const r = JSON.parse(row.body) as CanonicalRecord;
      if (!('kind' in r)) continue;
      const same =
        r.kind === row.kind && r.source === row.source && r.stream === row.stream && r.recordId === row.record_id && r.observedAt === row.observed_at;
      const body = same ? encodeRecord(r) : row.body;
      if (body !== row.body) put.run(body, row.seq);
    }
  }
}
