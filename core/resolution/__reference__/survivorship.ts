// Reference copy of core/resolution/survivorship.ts as of c903fc8 (before the issue-13 resolve work of 2026-12-06), kept unchanged
// so the differential tests can run the old code next to the new. Not used by the worker.
// When resolution decisions change on purpose, the differential test no longer holds: delete this folder and the test with that change.
import type { ComputedTrait, ResolutionConfig, TraitRule } from '../../config/schema.js';
import type { CanonicalRecord } from '../../schema/canonical.js';
import { recordKey } from '../../schema/canonical.js';
import type { ProfileState } from '../types.js';
import { latestConsent } from '../../privacy/consent.js';
import { putOwn } from '../../util/own-key.js';

/**
 * Running state of one trait or computed trait. Every strategy here can both
 * take one more record and combine two cells (a merge) without re-reading records.
 */
export interface Cell {
  v: unknown;
  /** observedAt of the record that supplied `v`. */
  at: string;
  /** recordKey of that record. */
  src: string;
  /** For source_priority: rank of the supplying source (lower wins). */
  rank?: number;
  /** For most_frequent: value (as JSON) -> times seen. */
  counts?: Record<string, number>;
  /** For computed traits that also need a time (last_value). */
  n?: number;
}

type Aggregates = { traits: Record<string, Cell>; computed: Record<string, Cell> };

/**
 * The cell held under `name`, own keys only: a trait named `constructor` or `__proto__` must not
 * read Object.prototype's (a `constructor` trait once took Object itself for its cell and crashed publish).
 */
function held(cells: Record<string, Cell>, name: string): Cell | undefined {
  return Object.hasOwn(cells, name) ? cells[name] : undefined;
}

/** A rules object from config without a prototype, so that a rule is only one the YAML wrote. */
function ownRules<R>(rules: Record<string, R>): Record<string, R | undefined> {
  return Object.assign(Object.create(null) as Record<string, R | undefined>, rules);
}

const DEFAULT_RULE: TraitRule = { strategy: 'most_recent' };

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A finite number as an integer of units of 10^-scale: the digits of its shortest round-trip form, not of its binary value. */
function scaled(n: number): { units: bigint; scale: number } {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(n));
  if (!m) return { units: BigInt(Math.round(n)), scale: 0 };
  const [, sign, int, frac = '', exp = '0'] = m;
  let digits = int + frac;
  let scale = frac.length - Number(exp);
  if (scale < 0) {
    digits += '0'.repeat(-scale);
    scale = 0;
  }
  return { units: BigInt(sign + digits), scale };
}

/**
 * a + b in exact decimal arithmetic: both are read as the decimals they print
 * as (825.6 and 0.03, not their binary approximations), summed as integers at
 * the larger scale, and turned back into the nearest number. Money sums then
 * come out as 825.63, never 825.6300000000001. No decimal library: the inputs
 * are already numbers, so their shortest printed form carries all the precision
 * there is, and BigInt does the rest.
 */
export function addDecimals(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a + b;
  const x = scaled(a);
  const y = scaled(b);
  const scale = Math.max(x.scale, y.scale);
  const sum = x.units * 10n ** BigInt(scale - x.scale) + y.units * 10n ** BigInt(scale - y.scale);
  const neg = sum < 0n;
  const digits = (neg ? -sum : sum).toString().padStart(scale + 1, '0');
  const text = scale ? `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}` : digits;
  return Number(`${neg ? '-' : ''}${text}`);
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

function unionLists(a: unknown, b: unknown): unknown[] {
  const seen = new Map<string, unknown>();
  for (const x of [...asList(a), ...asList(b)]) seen.set(JSON.stringify(x), x);
  return [...seen.values()];
}

function argmax(counts: Record<string, number>, fallback: unknown): unknown {
  let best: string | undefined;
  for (const [k, n] of Object.entries(counts)) if (best === undefined || n > counts[best]) best = k;
  return best === undefined ? fallback : JSON.parse(best);
}

/** Combine two cells of one trait. `a` is the cell already held; `b` the incoming one. */
function combineTrait(rule: TraitRule, a: Cell | undefined, b: Cell): Cell {
  if (!a) return b;
  switch (rule.strategy) {
    case 'most_recent':
    case 'non_empty':
      return b.at >= a.at ? b : a;
    case 'first_seen':
      return b.at < a.at ? b : a;
    case 'source_priority': {
      const ra = a.rank ?? Infinity;
      const rb = b.rank ?? Infinity;
      if (rb !== ra) return rb < ra ? b : a;
      return b.at >= a.at ? b : a;
    }
    case 'most_frequent': {
      const counts = { ...(a.counts ?? {}) };
      for (const [k, n] of Object.entries(b.counts ?? {})) counts[k] = (counts[k] ?? 0) + n;
      const latest = b.at >= a.at ? b : a;
      return { ...latest, counts, v: argmax(counts, latest.v) };
    }
    case 'sum':
      return { ...(b.at >= a.at ? b : a), v: addDecimals(asNumber(a.v) ?? 0, asNumber(b.v) ?? 0) };
    case 'min':
      return (asNumber(b.v) ?? Infinity) < (asNumber(a.v) ?? Infinity) ? b : a;
    case 'max':
      return (asNumber(b.v) ?? -Infinity) > (asNumber(a.v) ?? -Infinity) ? b : a;
    case 'union':
      return { ...(b.at >= a.at ? b : a), v: unionLists(a.v, b.v) };
  }
}

function traitCell(rule: TraitRule, value: unknown, r: CanonicalRecord, src: string): Cell | undefined {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return undefined;
  if ((rule.strategy === 'sum' || rule.strategy === 'min' || rule.strategy === 'max') && asNumber(value) === undefined) return undefined;
  const cell: Cell = { v: rule.strategy === 'sum' ? asNumber(value) : value, at: r.observedAt, src };
  if (rule.strategy === 'source_priority') {
    const i = (rule.sources ?? []).indexOf(r.source);
    cell.rank = i < 0 ? Number.MAX_SAFE_INTEGER : i;
  }
  if (rule.strategy === 'most_frequent') cell.counts = { [JSON.stringify(value)]: 1 };
  if (rule.strategy === 'union') cell.v = asList(value);
  return cell;
}

function eventValue(def: ComputedTrait, r: CanonicalRecord): unknown {
  if (!def.property) return undefined;
  if (def.property === 'revenue') return r.event?.revenue;
  return r.event?.properties[def.property];
}

function computedCell(def: ComputedTrait, r: CanonicalRecord, src: string): Cell | undefined {
  if (r.kind !== 'track' || !r.event) return undefined;
  if (def.event && def.event !== r.event.name) return undefined;
  switch (def.op) {
    case 'count':
      return { v: 1, at: r.observedAt, src };
    case 'first_time':
    case 'last_time':
      return { v: r.observedAt, at: r.observedAt, src };
    case 'sum':
    case 'min':
    case 'max': {
      const n = asNumber(eventValue(def, r));
      return n === undefined ? undefined : { v: n, at: r.observedAt, src };
    }
    case 'last_value': {
      const v = eventValue(def, r);
      return v === undefined ? undefined : { v, at: r.observedAt, src };
    }
  }
}

function combineComputed(def: ComputedTrait, a: Cell | undefined, b: Cell): Cell {
  if (!a) return b;
  const na = asNumber(a.v) ?? 0;
  const nb = asNumber(b.v) ?? 0;
  switch (def.op) {
    case 'count':
    case 'sum':
      return { ...(b.at >= a.at ? b : a), v: addDecimals(na, nb) };
    case 'min':
      return nb < na ? b : a;
    case 'max':
      return nb > na ? b : a;
    case 'first_time':
      return b.at < a.at ? b : a;
    case 'last_time':
    case 'last_value':
      return b.at >= a.at ? b : a;
  }
}

const CONSENT_PREFIX = 'consent.';

function isConsentCell(name: string): boolean {
  return name.startsWith(CONSENT_PREFIX);
}

/**
 * Consent is not a trait rule the YAML can change: per purpose the latest
 * statement stands and a tie favours the withdrawal (core/privacy/consent.ts).
 */
function applyConsent(traits: Record<string, Cell>, r: CanonicalRecord, src: string): void {
  if (!r.consent) return;
  for (const [purpose, value] of Object.entries(r.consent)) {
    const name = CONSENT_PREFIX + purpose;
    traits[name] = latestConsent(traits[name], { v: value, at: r.observedAt, src });
  }
}

/** Applies records and merges to profile state, per the survivorship rules in YAML. */
export class Survivorship {
  /** The computed-trait rules as pairs, taken once (they were listed again for every record). */
  private readonly computedRules: Array<[string, ComputedTrait]>;
  private readonly traitRules: Record<string, TraitRule | undefined>;
  private readonly computedDefs: Record<string, ComputedTrait | undefined>;

  constructor(rules: Pick<ResolutionConfig, 'traits' | 'computed'>) {
    this.computedRules = Object.entries(rules.computed);
    this.traitRules = ownRules(rules.traits);
    this.computedDefs = ownRules(rules.computed);
  }

  private aggregates(p: ProfileState): Aggregates {
    const a = p.aggregates as Partial<Aggregates>;
    if (!a.traits) a.traits = {};
    if (!a.computed) a.computed = {};
    return a as Aggregates;
  }

  apply(p: ProfileState, r: CanonicalRecord): void {
    const agg = this.aggregates(p);
    // One key text for every cell this record supplies (it was built once per cell).
    const src = recordKey(r);
    for (const name in r.traits) {
      if (!Object.hasOwn(r.traits, name)) continue;
      const rule = this.traitRules[name] ?? DEFAULT_RULE;
      const cell = traitCell(rule, r.traits[name], r, src);
      if (cell) putOwn(agg.traits, name, combineTrait(rule, held(agg.traits, name), cell));
    }
    applyConsent(agg.traits, r, src);
    for (const [name, def] of this.computedRules) {
      const cell = computedCell(def, r, src);
      if (cell) putOwn(agg.computed, name, combineComputed(def, held(agg.computed, name), cell));
    }
    this.publish(p);
  }

  /** Fold `absorbed` into `survivor`. */
  merge(survivor: ProfileState, absorbed: ProfileState): void {
    const a = this.aggregates(survivor);
    const b = this.aggregates(absorbed);
    for (const [name, cell] of Object.entries(b.traits)) {
      if (isConsentCell(name)) a.traits[name] = latestConsent(a.traits[name], cell);
      else putOwn(a.traits, name, combineTrait(this.traitRules[name] ?? DEFAULT_RULE, held(a.traits, name), cell));
    }
    for (const [name, cell] of Object.entries(b.computed)) {
      const def = this.computedDefs[name];
      if (def) putOwn(a.computed, name, combineComputed(def, held(a.computed, name), cell));
    }
    this.publish(survivor);
  }

  /** Start over from nothing (for a re-read record or a rebuild). */
  reset(p: ProfileState): void {
    p.aggregates = { traits: {}, computed: {} };
    p.traits = {};
    p.traitSources = {};
    p.computed = {};
  }

  private publish(p: ProfileState): void {
    const agg = this.aggregates(p);
    const traits: Record<string, unknown> = {};
    const sources: Record<string, string> = {};
    // for...in, not Object.entries: this runs for every record applied (the pairs were garbage).
    for (const name in agg.traits) {
      const cell = agg.traits[name];
      if (name.startsWith('consent.')) {
        const consent = (traits.consent ??= {}) as Record<string, unknown>;
        putOwn(consent, name.slice(8), cell.v);
      } else putOwn(traits, name, cell.v);
      putOwn(sources, name, cell.src);
    }
    p.traits = traits;
    p.traitSources = sources;
    const computed: Record<string, unknown> = {};
    for (const k in agg.computed) putOwn(computed, k, agg.computed[k].v);
    p.computed = computed;
  }
}
