import type { MappingConfig } from '../config/schema.js';
import type { CanonicalRecord, FieldWarning, Identifier } from './canonical.js';
import {
  normalizeBoolean,
  normalizeEmail,
  normalizeName,
  normalizeNumber,
  normalizePhone,
  normalizeTimestamp,
} from './normalize.js';

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
  now: () => string;
}

const NAME_TRAITS = new Set(['firstName', 'lastName', 'name', 'fullName']);

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
}

/**
 * Compile a stream's mapping once into a function over source rows. The mapping
 * names every field it reads, so `fieldsRead` lets the engine check it against
 * what the source actually has (a typo in a column name fails the sync clearly).
 */
export function compileMapping(mapping: MappingConfig, mctx: MappingContext) {
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

  function map(data: Record<string, unknown>): MapResult {
    const idParts = mctx.primaryKey.map((k) => getPath(data, k));
    if (idParts.some(isEmpty)) {
      return { ok: false, reason: `primary key ${mctx.primaryKey.join(', ')} is empty` };
    }
    // One key column is its value; several are a JSON array, so ("a|b","c") and ("a","b|c") stay apart.
    const recordId = idParts.length === 1 ? String(idParts[0]) : JSON.stringify(idParts.map(String));
    const warnings: FieldWarning[] = [];
    const identifiers: Identifier[] = [];
    const traits: Record<string, unknown> = {};

    for (const spec of identifierSpecs) {
      const raw = getPath(data, spec.field);
      if (isEmpty(raw)) continue;
      if (typeof raw === 'object') {
        warnings.push({ field: spec.field, value: raw, reason: 'not a single value (an object or a list)' });
        continue;
      }
      if (spec.type === 'email') {
        const n = normalizeEmail(raw);
        if (n.ok) identifiers.push({ type: 'email', value: n.value, ...(n.value !== raw ? { raw: String(raw) } : {}) });
        else warnings.push({ field: spec.field, value: raw, reason: n.reason });
      } else if (spec.type === 'phone') {
        const region = (spec.regionField && !isEmpty(getPath(data, spec.regionField)) ? String(getPath(data, spec.regionField)) : undefined) ?? spec.region ?? mctx.defaultRegion;
        const n = normalizePhone(raw, region);
        if (n.ok) identifiers.push({ type: 'phone', value: n.value, ...(n.value !== raw ? { raw: String(raw) } : {}) });
        else warnings.push({ field: spec.field, value: raw, reason: n.reason });
      } else {
        const value = String(raw).trim();
        if (value.length > 512) warnings.push({ field: spec.field, value: value.slice(0, 64), reason: 'longer than 512 characters' });
        else identifiers.push({ type: spec.type, value, ...(spec.namespace ? { namespace: spec.namespace } : {}) });
      }
    }

    for (const [trait, field] of traitSpecs) {
      const raw = getPath(data, field);
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

    let observedAt = mctx.now();
    if (mapping.observedAt) {
      const raw = getPath(data, mapping.observedAt);
      const n = normalizeTimestamp(raw);
      if (n.ok) observedAt = n.value;
      else if (!isEmpty(raw)) warnings.push({ field: mapping.observedAt, value: raw, reason: n.reason });
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
      const name = mapping.event.name ?? String(getPath(data, mapping.event.nameField!) ?? '').trim();
      if (!name) return { ok: false, reason: `event name field ${mapping.event.nameField} is empty`, recordId };
      const properties: Record<string, unknown> = {};
      for (const [prop, field] of Object.entries(mapping.event.properties)) {
        const v = getPath(data, field);
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
        const c = getPath(data, mapping.event.currency);
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
    if (identifiers.length === 0) {
      const why = warnings.length
        ? `: ${warnings.map((w) => `${w.field} ${w.reason}`).join('; ')}`
        : `: ${identifierSpecs.map((spec) => spec.field).join(', ')} empty`;
      return { ok: false, reason: `no usable identifier${why}`, recordId };
    }
    return { ok: true, record };
  }

  return { map, fieldsRead };
}
