import type { ResolutionConfig } from '../config/schema.js';
import { emptyEvidence, familyName, foldCode, givenName, traitGetter, type NameEvidence } from './name-guard.js';
import type { ProfileState } from './types.js';

// The deterministic resolver's profile in the making, how it reads a record's names, and the two orders it needs, kept out of
// deterministic.ts so that each stays readable. Issue 13: these replaced a sort with a comparator
// closure that built two tuples per comparison, and a full re-sort of every touched profile's keys.

/** Working copy of a profile during one batch: identifier sets and per-class counts kept hot. */
export interface Working {
  state: ProfileState;
  keys: Set<string>;
  classCounts: Map<string, number>;
  isNew: boolean;
  /** Names the profile's records carry, with counts: what the name guard compares with. */
  names: NameEvidence;
  /** `[this]`, made once when first asked: the presenters of most values are their owner alone. */
  alone?: readonly Working[];
}

/** `xs.sort()`, in place: a profile absorbed in a merge can add many keys, so past a handful, the built-in sort. */
function sortFew(xs: string[]): string[] {
  if (xs.length > 8) return xs.sort();
  for (let a = 1; a < xs.length; a++) {
    const x = xs[a];
    let b = a - 1;
    for (; b >= 0 && x < xs[b]; b--) xs[b + 1] = xs[b];
    xs[b + 1] = x;
  }
  return xs;
}

/** Stored profiles sort before ones born in this batch, then by creation time, then by id (ids are unique). */
export function older(a: Working, b: Working): boolean {
  if (a.isNew !== b.isNew) return !a.isNew;
  if (a.state.createdAt !== b.state.createdAt) return a.state.createdAt < b.state.createdAt;
  return a.state.id < b.state.id;
}

/** Sorts `xs[from..]` in place, oldest first: a handful of presenters, so no comparator closure or sort buffer. */
export function sortOldestFirst(xs: Working[], from: number): void {
  for (let i = from + 1; i < xs.length; i++) {
    const x = xs[i];
    let j = i - 1;
    for (; j >= from && older(x, xs[j]); j--) xs[j + 1] = xs[j];
    xs[j + 1] = x;
  }
}

/**
 * A profile's identifier list after the batch: what `[...keys].sort()` gives, without sorting
 * the stored part again. The set starts with the stored (sorted, distinct) list in its order and
 * only grows, so only the keys added after it are sorted (one to three, usually) and merged in.
 */
export function sortedIdentifiers(stored: readonly string[], keys: ReadonlySet<string>): string[] {
  // A new profile: its keys at their exact length (a list grown by push from empty reserves room for 17).
  if (!stored.length) return sortFew([...keys]);
  for (let i = 1; i < stored.length; i++) if (!(stored[i - 1] < stored[i])) return [...keys].sort();
  const added: string[] = [];
  let i = 0;
  for (const k of keys) {
    if (i < stored.length) {
      // The stored list must be the start of the set, or the shortcut does not hold.
      if (k !== stored[i]) return [...keys].sort();
      i++;
    } else added.push(k);
  }
  if (i < stored.length) return [...keys].sort();
  sortFew(added);
  const out: string[] = [];
  let s = 0;
  let t = 0;
  while (s < stored.length || t < added.length) out.push(t >= added.length || (s < stored.length && stored[s] < added[t]) ? stored[s++] : added[t++]);
  return out;
}


/** The evidence of a record without any name, date of birth or postcode (an order keyed by email): shared, never written to. */
export const NO_NAMES: NameEvidence = Object.freeze({ given: Object.freeze({}), family: Object.freeze({}), dob: Object.freeze({}), postcode: Object.freeze({}) }) as NameEvidence;

/**
 * What the name guard reads from a record's traits. A record with none of it (40% of the pipeline
 * benchmark's records are orders with an email alone) gets one shared, frozen, empty evidence
 * instead of five new objects: evidence of a record is only ever added from, never added to.
 */
export function namesReader(guard: ResolutionConfig['nameGuard']): (traits: Record<string, unknown>) => NameEvidence {
  if (!guard) return () => NO_NAMES;
  const dobGetters = guard.dateOfBirthTraits.map(traitGetter);
  const postcodeGetters = guard.postalCodeTraits.map(traitGetter);
  const first = (traits: Record<string, unknown>, getters: ReadonlyArray<(t: Record<string, unknown>) => unknown>) => {
    for (const get of getters) {
      const v = foldCode(get(traits));
      if (v !== undefined) return v;
    }
    return undefined;
  };
  return (traits) => {
    const given = givenName(traits, guard.traits);
    const family = familyName(traits, guard.traits, guard.familyTraits);
    const dob = first(traits, dobGetters);
    const postcode = first(traits, postcodeGetters);
    if (given === undefined && family === undefined && dob === undefined && postcode === undefined) return NO_NAMES;
    // addEvidence(emptyEvidence(), { given, family, dob, postcode }) without the record object and
    // the loop: each present value counted once (folded text, never `__proto__`).
    const e = emptyEvidence();
    if (given !== undefined) e.given[given] = 1;
    if (family !== undefined) e.family[family] = 1;
    if (dob !== undefined) e.dob![dob] = 1;
    if (postcode !== undefined) e.postcode![postcode] = 1;
    return e;
  };
}

const EVIDENCE_FIELDS = ['given', 'family', 'dob', 'postcode'] as const;

/**
 * Whether `addEvidence(emptyEvidence(), e)` would give `e` again, key for key and in order: the four
 * maps in emptyEvidence's order, plain objects whose own keys (never `__proto__`) hold positive
 * numbers (the copy adds each to 0). Stored evidence the resolver wrote passes; anything else is copied.
 */
export function copiesAsItself(e: NameEvidence): boolean {
  if (Object.getPrototypeOf(e) !== Object.prototype) return false;
  let i = 0;
  // A missing field fails below (its map is undefined).
  for (const f in e) if (f !== EVIDENCE_FIELDS[i++]) return false;
  for (const f of EVIDENCE_FIELDS) {
    const m: unknown = e[f];
    if (m === null || typeof m !== 'object' || Object.getPrototypeOf(m) !== Object.prototype || !Object.isExtensible(m)) return false;
    const counts = m as Record<string, unknown>;
    for (const k in counts) {
      const n = counts[k];
      if (k === '__proto__' || !Object.hasOwn(counts, k) || typeof n !== 'number' || !(n > 0)) return false;
    }
  }
  return true;
}
