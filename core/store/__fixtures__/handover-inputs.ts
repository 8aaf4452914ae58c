import { createRng, type Rng } from '../../../bench/quality/prng.js';
import type { CanonicalRecord, Identifier } from '../../schema/canonical.js';
import type { LinkDecision, ProfileState } from '../../resolution/types.js';
import type { BatchCommit } from '../types.js';

/**
 * Seeded inputs for the hand-over's differential test: profiles, records and whole batches as the resolver and the
 * mapping make them, and, on purpose and often, every shape the codecs must keep as plain JSON or treat apart
 * (`__proto__` and `$` keys, keys out of order, cells of other shapes, a literal 0 where the compact form writes 0,
 * undefined values, identifiers with other fields, traits that mapping did not fill the usual way).
 */

/** `o[k] = v`, except that `__proto__` becomes an own key, as JSON.parse makes it. */
function own(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

const TIMES = ['2026-01-25T10:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-02-21T12:00:00.000Z', '2026-04-02T08:00:00.000Z'];
const SOURCES = ['crm/customers/500', 'newsletter/subscribers/n500', 'shop/orders/o39500', 'shop/orders/o1', 'crm/customers/é"\\'];
const NAMES = ['firstName', 'lastName', 'email', 'phone', 'city', 'postalCode', 'address', 'fullName', 'consent.newsletter', 'consent.sms', '__proto__', 'consent.__proto__', '$x', 'i', 'consent', 'consent.7', '3', 'consent.letter', 'letter'];
const COMPUTED = ['orders_count', 'lifetime_value', 'last_order', 'tags', '__proto__'];

function value(g: Rng, depth = 0): unknown {
  const r = g.next();
  if (r < 0.35) return g.pick(['Ann', 'Rossi', 'user500@mail-box.net', '+14152000500', 'Chloé', 'Müller \u2028 "q"', '']);
  if (r < 0.5) return g.int(-3, 1000) / g.pick([1, 100]);
  if (r < 0.58) return g.chance(0.5);
  if (r < 0.62) return null;
  if (r < 0.64) return 0;
  if (depth > 1) return 'deep';
  if (r < 0.75) return Array.from({ length: g.int(0, 3) }, () => value(g, depth + 1));
  const o: Record<string, unknown> = {};
  for (let k = g.int(0, 3); k > 0; k--) own(o, g.pick(['city', 'zip', '__proto__', 'n', '$k']), value(g, depth + 1));
  return o;
}

function cellOf(g: Rng, sources: string[], times: string[]): unknown {
  const i = g.int(0, sources.length - 1);
  const at = g.chance(0.85) ? times[i] : g.pick(TIMES);
  const r = g.next();
  if (r < 0.9) return { v: value(g), at, src: sources[i] };
  if (r < 0.92) return { v: undefined, at, src: sources[i] };
  if (r < 0.94) return { at, v: value(g), src: sources[i] };
  if (r < 0.96) return { v: value(g), at, src: sources[i], n: 4 };
  if (r < 0.97) return [value(g), 1, 0];
  if (r < 0.98) return { v: value(g), at: 5, src: sources[i] };
  return value(g);
}

/** A profile as survivorship leaves it, then (about one in three) changed in one of the ways the codec must notice. */
export function profileOf(g: Rng, id: string): ProfileState {
  const sources = SOURCES.slice(0, g.int(1, SOURCES.length));
  const times = sources.map(() => g.pick(TIMES));
  const cells: Record<string, unknown> = {};
  for (let k = g.int(0, 8); k > 0; k--) own(cells, g.chance(0.1) ? g.pick(NAMES) : g.pick(NAMES.slice(0, 10)), cellOf(g, sources, times));
  const computedCells: Record<string, unknown> = {};
  for (let k = g.int(0, 3); k > 0; k--) own(computedCells, g.chance(0.1) ? g.pick(COMPUTED) : g.pick(COMPUTED.slice(0, 4)), cellOf(g, sources, times));
  const traits: Record<string, unknown> = {};
  const traitSources: Record<string, unknown> = {};
  for (const name in cells) {
    const c = cells[name] as { v?: unknown; src?: unknown };
    const v = typeof c === 'object' && c !== null ? c.v : c;
    if (name.startsWith('consent.')) {
      if (!Object.hasOwn(traits, 'consent')) own(traits, 'consent', {});
      const consent = traits.consent;
      if (typeof consent === 'object' && consent !== null) own(consent as Record<string, unknown>, name.slice(8), v);
    } else own(traits, name, v);
    own(traitSources, name, typeof c === 'object' && c !== null ? c.src : 'x');
  }
  const computed: Record<string, unknown> = {};
  for (const name in computedCells) own(computed, name, (computedCells[name] as { v?: unknown } | null)?.v);
  const aggregates: Record<string, unknown> = { traits: cells, computed: computedCells };
  if (g.chance(0.2)) own(aggregates, g.pick(['counts', '__proto__', 'sums']), g.chance(0.7) ? { a: cellOf(g, sources, times), b: 3 } : 7);
  const p: Record<string, unknown> = { id, createdAt: TIMES[0], updatedAt: TIMES[1] };
  p.identifiers = Array.from({ length: g.int(0, 4) }, (_, i) => `email\u0000u${i}@x.org`);
  p.recordCount = g.int(1, 9);
  p.traits = traits;
  p.traitSources = traitSources;
  p.computed = computed;
  p.aggregates = aggregates;
  if (g.chance(0.8)) p.names = { given: { ann: 2 }, family: g.chance(0.1) ? JSON.parse('{"__proto__":1}') : { rossi: 1 }, dob: {}, postcode: {} };
  if (g.chance(0.35)) perturb(g, p, traits, traitSources, computed, cells);
  return p as unknown as ProfileState;
}

function perturb(g: Rng, p: Record<string, unknown>, traits: Record<string, unknown>, sources: Record<string, unknown>, computed: Record<string, unknown>, cells: Record<string, unknown>): void {
  const first = Object.keys(traits)[0];
  switch (g.int(0, 17)) {
    case 16: { const c = traits.consent as Record<string, unknown> | undefined; const k = c && typeof c === 'object' ? Object.keys(c)[0] : undefined; if (c && k) { const v = c[k]; delete c[k]; own(c, k.slice(-3), v); } break; }
    case 17: { const k = Object.keys(computed).pop(); if (k !== undefined) delete computed[k]; break; }
    case 0: own(p, g.pick(['$s', '$t', '$', '__proto__']), ['x']); break;
    case 1: p[g.pick(['traits', 'traitSources', 'computed'])] = 0; break;
    case 2: p[g.pick(['names', 'traits', 'computed', 'traitSources', 'aggregates'])] = undefined; break;
    case 3: { const { id, ...rest } = p; for (const k of Object.keys(p)) delete p[k]; Object.assign(p, rest, { id }); break; }
    case 4: if (first !== undefined) traits[first] = value(g); break;
    case 5: own(traits, 'nickname', 'Annie'); break;
    case 6: if (first !== undefined) sources[first] = 'crm/customers/999'; break;
    case 7: own(sources, 'extra', 'crm/customers/500'); break;
    case 8: { const k = Object.keys(sources)[0]; if (k !== undefined) { const v = sources[k]; delete sources[k]; own(sources, k, v); } break; }
    case 9: own(computed, 'extra', 1); break;
    case 10: { const k = Object.keys(computed)[0]; if (k !== undefined) computed[k] = value(g); break; }
    case 11: p.aggregates = g.pick([[], 'x', null, { traits: 3, computed: [] }]); break;
    case 12: own(p.aggregates as Record<string, unknown>, 'traits', g.pick([[1], null, 'cells'])); break;
    case 13: if (first !== undefined) { const v = traits[first]; delete traits[first]; own(traits, first, v); } break;
    case 14: own(cells, 'late', { v: 1, at: TIMES[2], src: 'late/src/1' }); break;
    default: p.extraKey = value(g); break;
  }
}

const TYPES = ['email', 'phone', 'external_id', 'anonymous_id', 'device_id'];

function identifierOf(g: Rng): Identifier {
  const type = g.pick(TYPES);
  const id: Record<string, unknown> = { type, value: `${type[0]}${g.int(0, 20)}` };
  if (g.chance(0.3)) id.namespace = g.pick(['crm', 'shop']);
  if (g.chance(0.15)) id.raw = g.pick([' Bob@X.org ', 5, null]);
  const r = g.next();
  if (r < 0.03) return { value: id.value, type } as Identifier;
  if (r < 0.05) return { ...id, extra: 1 } as unknown as Identifier;
  if (r < 0.07) return { ...id, value: 42 } as unknown as Identifier;
  if (r < 0.08) return { ...id, namespace: 3 } as unknown as Identifier;
  if (r < 0.09) return { type, value: id.value, raw: 'r', namespace: 'crm' } as Identifier;
  if (r < 0.1) return { ...id, raw: undefined } as Identifier;
  return id as unknown as Identifier;
}

/** A record as mapping makes it, sometimes changed where the compact body must fall back to plain JSON. */
export function recordOf(g: Rng, source: string, stream: string, recordId: string): CanonicalRecord {
  const identifiers = Array.from({ length: g.int(0, 4) }, () => identifierOf(g));
  const traits: Record<string, unknown> = {};
  for (let k = g.int(0, 4); k > 0; k--) own(traits, g.pick(['firstName', 'lastName', 'city', 'prefs', '__proto__', 'email', 'phone']), value(g));
  // What mapping does after the mapped traits: the first email and phone identifiers become traits if absent.
  if (g.chance(0.8)) for (const id of identifiers) if ((id.type === 'email' || id.type === 'phone') && traits[id.type] === undefined) traits[id.type] = id.value;
  if (g.chance(0.05)) traits.email = undefined;
  const r: Record<string, unknown> = { kind: g.chance(0.8) ? 'identify' : 'track', source, stream, recordId, observedAt: g.pick(TIMES), identifiers, traits };
  if (r.kind === 'track') r.event = { name: 'order_completed', properties: { amount: value(g) }, revenue: 12.5, currency: 'EUR' };
  if (g.chance(0.3)) r.consent = { newsletter: g.chance(0.5), ...(g.chance(0.3) ? { sms: false } : {}) };
  if (g.chance(0.2)) r.warnings = [{ field: 'phone', value: 'x', reason: 'invalid phone' }];
  if (g.chance(0.1)) own(r, g.pick(['i', 't', 'u', '__proto__', 'expiredAt', 'fn']), g.pick([1, 'x', () => 1, undefined]));
  if (g.chance(0.04)) r.observedAt = 17;
  if (g.chance(0.03)) { const { kind, ...rest } = r; return { ...rest, kind } as unknown as CanonicalRecord; }
  if (g.chance(0.02)) r.traits = g.pick([null, [1], 'x', undefined]);
  if (g.chance(0.02)) r.identifiers = 'none';
  return r as unknown as CanonicalRecord;
}

const ident = (id: Identifier) => (id.namespace ? `${id.type}:${id.namespace}\u0000${id.value}` : `${id.type}\u0000${id.value}`);

/** A whole batch as the engine hands it over, its resolution consistent with its records. */
export function batchOf(seed: number): BatchCommit {
  const g = createRng(seed);
  const records: CanonicalRecord[] = [];
  const assignments = new Map<string, string>();
  const links: LinkDecision[] = [];
  const identifierOwners = new Map<string, string>();
  const profiles: ProfileState[] = [];
  const n = g.int(0, 40);
  for (let i = 0; i < n; i++) {
    const source = g.pick(['crm', 'shop', 'news/letter']);
    const r = recordOf(g, source, g.pick(['customers', 'orders']), g.chance(0.1) ? `r${g.int(0, 5)}` : `r${seed}-${i}`);
    const key = `${r.source}/${r.stream}/${r.recordId}`;
    if (assignments.has(key)) continue;
    records.push(r);
    const pid = `prof_${g.int(0, n >> 1)}`;
    assignments.set(key, pid);
    const ids = Array.isArray(r.identifiers) ? r.identifiers.filter((x) => x && typeof x.type === 'string') : [];
    for (const id of ids) {
      const c = g.next();
      if (c < 0.6) links.push({ recordKey: key, identifierKey: ident(id), rule: `mergeOn:${id.type}` } as LinkDecision);
      else if (c < 0.7) links.push({ recordKey: key, identifierKey: ident(id), rule: g.pick(['probabilistic', `mergeOn:x${id.type}`, `mergeOn:${id.type}.crm`, `${id.type}:mergeOn`]) } as LinkDecision);
      // A key that differs from the identifier's only in a namespace of the same length.
      else if (c < 0.75) links.push({ recordKey: key, identifierKey: ident({ ...id, namespace: id.namespace === 'crm' ? 'erp' : 'crm' }), rule: `mergeOn:${id.type}` } as LinkDecision);
      if (g.chance(0.5)) identifierOwners.set(ident(id), pid);
    }
    if (g.chance(0.05)) links.push({ recordKey: key, identifierKey: 'email\u0000other@x.org', rule: 'mergeOn:email' } as LinkDecision);
  }
  if (g.chance(0.05)) links.push({ recordKey: 'gone/s/1', identifierKey: 'email\u0000g@x.org', rule: 'mergeOn:email' } as LinkDecision);
  // The resolver lists a record's links together; the store must not rely on it.
  if (g.chance(0.2)) g.shuffle(links);
  for (const pid of new Set(assignments.values())) profiles.push(profileOf(g, pid));
  const presented: Array<[string, string]> = [...identifierOwners.keys()].filter(() => g.chance(0.2)).map((k) => [k, `prof_${g.int(0, 9)}`]);
  const keys = [...assignments.keys()];
  return {
    sync: 'crm',
    records,
    resolution: {
      assignments,
      links,
      identifierOwners,
      merges: g.chance(0.2) ? [{ survivor: 'prof_0', absorbed: 'prof_9', recordKey: keys[0] ?? 'x', identifierKey: 'email\u0000a', rule: 'mergeOn:email', at: TIMES[0] }] : [],
      refused: g.chance(0.3) ? [{ recordKey: keys[0] ?? 'x', identifierKey: 'phone\u0000+1', profiles: ['prof_1', 'prof_2'], reason: 'cap', at: TIMES[1] }] : [],
      profiles,
      genericValues: [],
      presented,
      reread: g.chance(0.7) ? keys.filter(() => g.chance(0.1)) : undefined,
      blockingKeys: g.chance(0.1) ? [[keys[0] ?? 'x', ['b1', 'b2']]] : undefined,
    },
    deadLetters: g.chance(0.3) ? [{ sync: 'crm', stream: 'customers', recordId: g.chance(0.5) ? 'd1' : undefined, reason: 'bad', payload: g.chance(0.5) ? { a: 1 } : undefined }] : [],
    checkpoints: [{ stream: 'customers', state: { cursor: `c${seed}` } }],
    destinations: g.chance(0.5) ? ['hubspot'] : [],
    run: g.chance(0.5) ? { id: 3, summary: { streams: {} } as unknown as NonNullable<BatchCommit['run']>['summary'] } : undefined,
  };
}
