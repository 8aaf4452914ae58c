import type { DateFormat, MappingConfig } from '../../config/schema.js';
import { ConfigError } from '../../errors.js';
import type { BlockedPredicate } from '../../resolution/rules.js';
import type { CanonicalRecord, FieldWarning, Identifier } from '../canonical.js';
import {
  UNDECODED_REASON,
  normalizeBoolean,
  normalizeEmail,
  normalizeName,
  normalizeNumber,
  normalizePhone,
  normalizeTimestamp,
} from '../normalize.js';

/** Read `a.b.c` from nested data; a key that itself contains dots wins over nesting. */
export function getPath(data: Record<string, unknown>, path: string): unknown {
  // Own properties only: a field named `constructor` must not read Object.prototype.
  if (Object.hasOwn(data, path)) return data[path];
  let cur: unknown = data;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export type MapResult =
  | { ok: true; record: CanonicalRecord }
  | { ok: false; reason: string; recordId?: string };

export interface MappingContext {
  source: string;
  stream: string;
  kind: 'identify' | 'track';
  primaryKey: string[];
  defaultRegion: string;
  /** The read time: a record's observedAt when its mapping has none, or its value is missing or invalid. */
  now: () => string;
  /** The stream's `dateFormat`, for observedAt values such as 01.05.2024. */
  dateFormat?: DateFormat;
  /** The resolution blocklist (`compileBlocklist(config.resolution)`); without it no value counts as blocked here. */
  blocked?: BlockedPredicate;
  /**
   * What a record whose identifiers are all unusable (empty, invalid or blocked)
   * becomes: a dead letter with the reasons (default), or, for the identity-resolution
   * issue's `unidentified: profile` policy, a record kept as it is.
   */
  unidentified?: 'dead-letter' | 'profile';
}

const NAME_TRAITS = new Set(['firstName', 'lastName', 'name', 'fullName']);
/** Distinct observedAt texts remembered per stream mapping. */
const TIMESTAMP_MEMO_MAX = 10_000;

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
}

/**
 * One primary-key value as key text, or why it cannot be one. Strings are kept as
 * they are; integers are their decimal text (so the number 1, also written 1.0 in
 * JSON, is "1": the same key as the text "1", never the text "1.0"). Non-integer
 * numbers are refused: 1.5 and 1.50 and 1.4999999999999999 are not reliably one key.
 * Integers beyond 2^53 have already lost digits when read; dates are their ISO time.
 */
export function keyPart(name: string, v: unknown): { ok: true; value: string } | { ok: false; reason: string } {
  if (typeof v === 'string') return { ok: true, value: v };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return { ok: false, reason: `primary key ${name} is a non-integer number (${v}); keys must be strings or integers` };
    if (!Number.isSafeInteger(v)) return { ok: false, reason: `primary key ${name} is an integer beyond 2^53 (${v}) that lost digits when read; quote it in the source` };
    return { ok: true, value: String(v) };
  }
  if (typeof v === 'bigint') return { ok: true, value: v.toString() };
  if (v instanceof Date) {
    return Number.isFinite(v.getTime()) ? { ok: true, value: v.toISOString() } : { ok: false, reason: `primary key ${name} is an invalid date` };
  }
  if (typeof v === 'object') return { ok: false, reason: `primary key ${name} is an object or a list, not a single value` };
  return { ok: false, reason: `primary key ${name} is a ${typeof v}, not a string or an integer` };
}

/** NUL bytes are removed (with a warning); text with U+FFFD did not decode (a warning, and `undecoded`). */
function cleanText(field: string, raw: unknown, warnings: FieldWarning[]): { value: unknown; undecoded: boolean } {
  if (typeof raw !== 'string') return { value: raw, undecoded: false };
  let value = raw;
  if (value.includes('\u0000')) {
    value = value.replaceAll('\u0000', '');
    warnings.push({ field, value, reason: 'NUL bytes removed' });
  }
  const undecoded = value.includes('\ufffd');
  if (undecoded) warnings.push({ field, value, reason: UNDECODED_REASON });
  return { value, undecoded };
}

/**
 * Compile a stream's mapping once into a function over source rows. The mapping
 * names every field it reads, so `fieldsRead` lets the engine check it against
 * what the source actually has (a typo in a column name fails the sync clearly).
 */
export function compileMapping(mapping: MappingConfig, mctx: MappingContext) {
  // Names are keys of the objects built per record: checked once here, not per record.
  for (const [where, names] of [['traits', mapping.traits], ['event.properties', mapping.event?.properties], ['consent', mapping.consent]] as const) {
    if (names && Object.hasOwn(names, '__proto__')) {
      throw new ConfigError(`mapping.${where} names a key __proto__, which a record cannot hold as a name; choose another (a source field may keep the name, e.g. legacy: __proto__)`, {
        sync: mctx.source,
        stream: mctx.stream,
      });
    }
  }
  const identifierSpecs = Object.entries(mapping.identifiers).map(([key, spec]) => {
    const dot = key.indexOf('.');
    const type = dot < 0 ? key : key.slice(0, dot);
    const namespace = dot < 0 ? undefined : key.slice(dot + 1);
    const s = typeof spec === 'string' ? { field: spec } : spec;
    return { key, type, namespace, field: s.field, region: 'region' in s ? s.region : undefined, regionField: 'regionField' in s ? s.regionField : undefined };
  });
  const traitSpecs = Object.entries(mapping.traits);
  const fieldsRead = new Set<string>([
    ...mctx.primaryKey,
    ...identifierSpecs.flatMap((s) => (s.regionField ? [s.field, s.regionField] : [s.field])),
    ...traitSpecs.map(([, f]) => f),
    ...(mapping.observedAt ? [mapping.observedAt] : []),
    ...(mapping.event?.nameField ? [mapping.event.nameField] : []),
    ...Object.values(mapping.event?.properties ?? {}),
    ...(mapping.event?.revenue ? [mapping.event.revenue] : []),
    ...(mapping.event?.currency ? [mapping.event.currency] : []),
    ...Object.values(mapping.consent ?? {}),
  ]);

  const timestampOptions = { dateFormat: mctx.dateFormat };
  // observedAt values recur (a day's export, an hourly job): parsed answers are kept per text
  // up to a bound, then dropped at once. Per mapping, so the stream's dateFormat is part of the key.
  const timestampMemo = new Map<string, ReturnType<typeof normalizeTimestamp>>();
  const timestamp = (raw: unknown) => {
    if (typeof raw !== 'string') return normalizeTimestamp(raw, timestampOptions);
    let n = timestampMemo.get(raw);
    if (n === undefined) {
      n = normalizeTimestamp(raw, timestampOptions);
      if (timestampMemo.size >= TIMESTAMP_MEMO_MAX) timestampMemo.clear();
      timestampMemo.set(raw, n);
    }
    return n;
  };
  const singleKey = mctx.primaryKey.length === 1 ? mctx.primaryKey[0] : undefined;

  type Made = { ok: true; id: Identifier } | { ok: false; reason: string; shown?: unknown };
  function makeIdentifier(spec: (typeof identifierSpecs)[number], raw: unknown, data: Record<string, unknown>): Made {
    if (typeof raw === 'object') return { ok: false, reason: 'not a single value (an object or a list)' };
    if (spec.type === 'email') {
      const n = normalizeEmail(raw);
      return n.ok ? { ok: true, id: { type: 'email', value: n.value } } : n;
    }
    if (spec.type === 'phone') {
      const own = spec.regionField ? getPath(data, spec.regionField) : undefined;
      const n = normalizePhone(raw, isEmpty(own) ? (spec.region ?? mctx.defaultRegion) : String(own));
      return n.ok ? { ok: true, id: { type: 'phone', value: n.value } } : n;
    }
    const value = String(raw).trim();
    if (value.length > 512) return { ok: false, reason: 'longer than 512 characters', shown: value.slice(0, 64) };
    return { ok: true, id: { type: spec.type, value, ...(spec.namespace ? { namespace: spec.namespace } : {}) } };
  }

  /** The record id: one key column is its value; several are a JSON array, so ("a|b","c") and ("a","b|c") stay apart. */
  function recordIdOf(data: Record<string, unknown>): { ok: true; value: string } | { ok: false; reason: string } {
    if (singleKey !== undefined) {
      const v = getPath(data, singleKey);
      if (isEmpty(v)) return { ok: false, reason: `primary key ${singleKey} is empty` };
      // The common case, a text key, needs no intermediate objects.
      return typeof v === 'string' ? { ok: true, value: v } : keyPart(singleKey, v);
    }
    const idParts = mctx.primaryKey.map((k) => getPath(data, k));
    if (idParts.some(isEmpty)) return { ok: false, reason: `primary key ${mctx.primaryKey.join(', ')} is empty` };
    const keyTexts: string[] = [];
    for (let i = 0; i < idParts.length; i++) {
      const part = keyPart(mctx.primaryKey[i], idParts[i]);
      if (!part.ok) return part;
      keyTexts.push(part.value);
    }
    return { ok: true, value: keyTexts.length === 1 ? keyTexts[0] : JSON.stringify(keyTexts) };
  }

  function map(data: Record<string, unknown>): MapResult {
    const id = recordIdOf(data);
    if (!id.ok) return { ok: false, reason: id.reason };
    const recordId = id.value;
    const warnings: FieldWarning[] = [];
    /** Why each identifier field gave nothing usable, for the dead letter. */
    const unusable: Array<{ field: string; reason: string }> = [];
    let usable = 0;
    const identifiers: Identifier[] = [];
    const traits: Record<string, unknown> = {};

    for (const spec of identifierSpecs) {
      const original = getPath(data, spec.field);
      const { value: raw, undecoded } = cleanText(spec.field, original, warnings);
      if (isEmpty(raw) || undecoded) {
        unusable.push({ field: spec.field, reason: undecoded ? UNDECODED_REASON : 'empty' });
        continue;
      }
      const made = makeIdentifier(spec, raw, data);
      if (!made.ok) {
        warnings.push({ field: spec.field, value: made.shown ?? raw, reason: made.reason });
        unusable.push({ field: spec.field, reason: made.reason });
        continue;
      }
      const id = made.id;
      if ((id.type === 'email' || id.type === 'phone') && id.value !== original) id.raw = String(original);
      identifiers.push(id);
      // A blocked value stays on the record (the resolver refuses it and records why), but does not make it identifiable.
      const blocked = mctx.blocked?.(id.type, id.value);
      if (blocked) unusable.push({ field: spec.field, reason: blocked });
      else usable++;
    }

    for (const [trait, field] of traitSpecs) {
      const raw = cleanText(field, getPath(data, field), warnings).value;
      if (isEmpty(raw)) continue;
      if (NAME_TRAITS.has(trait)) traits[trait] = normalizeName(raw);
      else if (trait === 'email') {
        const n = normalizeEmail(raw);
        traits.email = n.ok ? n.value : String(raw).trim();
      } else traits[trait] = raw;
    }
    // The normalized identifiers are the best email/phone traits when no trait was mapped.
    for (const id of identifiers) {
      if ((id.type === 'email' || id.type === 'phone') && traits[id.type] === undefined) traits[id.type] = id.value;
    }

    // The documented fallback is the read time; a mapped observedAt that is missing or invalid says so on the record.
    // The clock is read only when the fallback is used (it was once per record).
    let observedAt: string;
    if (!mapping.observedAt) observedAt = mctx.now();
    else {
      const raw = getPath(data, mapping.observedAt);
      const n = isEmpty(raw) ? undefined : timestamp(raw);
      if (n?.ok) observedAt = n.value;
      else {
        observedAt = mctx.now();
        const reason = n ? `observedAt invalid (${n.reason}); using read time` : 'observedAt missing; using read time';
        warnings.push({ field: mapping.observedAt, value: raw ?? null, reason });
      }
    }

    const record: CanonicalRecord = {
      kind: mctx.kind,
      source: mctx.source,
      stream: mctx.stream,
      recordId,
      observedAt,
      identifiers,
      traits,
    };

    if (mapping.event) {
      const name = mapping.event.name ?? String(cleanText(mapping.event.nameField!, getPath(data, mapping.event.nameField!), warnings).value ?? '').trim();
      if (!name) return { ok: false, reason: `event name field ${mapping.event.nameField} is empty`, recordId };
      const properties: Record<string, unknown> = {};
      for (const [prop, field] of Object.entries(mapping.event.properties)) {
        const v = cleanText(field, getPath(data, field), warnings).value;
        if (!isEmpty(v)) properties[prop] = v;
      }
      record.event = { name, properties };
      if (mapping.event.revenue) {
        const raw = getPath(data, mapping.event.revenue);
        const n = normalizeNumber(raw);
        if (n.ok) record.event.revenue = n.value;
        else if (!isEmpty(raw)) warnings.push({ field: mapping.event.revenue, value: raw, reason: n.reason });
      }
      if (mapping.event.currency) {
        const c = cleanText(mapping.event.currency, getPath(data, mapping.event.currency), warnings).value;
        if (!isEmpty(c)) record.event.currency = String(c).trim().toUpperCase();
      }
    }

    if (mapping.consent) {
      const consent: Record<string, boolean> = {};
      for (const [purpose, field] of Object.entries(mapping.consent)) {
        const raw = getPath(data, field);
        const n = normalizeBoolean(raw);
        if (n.ok) consent[purpose] = n.value;
        else if (!isEmpty(raw)) warnings.push({ field, value: raw, reason: n.reason });
      }
      if (Object.keys(consent).length) record.consent = consent;
    }

    if (warnings.length) record.warnings = warnings;
    if (usable === 0 && (mctx.unidentified ?? 'dead-letter') === 'dead-letter') {
      const why = unusable.every((u) => u.reason === 'empty')
        ? `${unusable.map((u) => u.field).join(', ')} empty`
        : unusable.map((u) => `${u.field} ${u.reason}`).join('; ');
      return { ok: false, reason: `no usable identifier: ${why}`, recordId };
    }
    return { ok: true, record };
  }

  return { map, fieldsRead };
}
