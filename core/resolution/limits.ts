import type { CandidateKey, CompiledRules } from './rules.js';

/** What the caps and limits look at in a profile being built: its records, keys and keys per limit class. */
export interface Countable {
  state: { recordCount: number };
  keys: Set<string>;
  classCounts: Map<string, number>;
}

type Limits = Pick<CompiledRules, 'limitFor' | 'maxRecords' | 'maxIdentifiers'>;

const tooMany = (limit: number, cls: string) => `limit: more than ${limit} ${cls.replace(':', '.')} values in one profile`;

/**
 * Why joining `parts` into one profile, with the record's keys `extra` (and `more`) and
 * `addRecords` more records, would break the records cap, the identifiers cap or a
 * per-class limit; undefined when it would not. The records cap is named first, then the
 * identifiers cap, then the first class over its limit (the parts' classes in order, then new ones).
 */
export function breaksCapOrLimit(rules: Limits, parts: readonly Countable[], extra: readonly CandidateKey[], addRecords: number, more?: CandidateKey): string | undefined {
  return parts.length <= 2 ? breaksFew(rules, parts[0], parts[1], extra, addRecords, more) : breaksMany(rules, parts, extra, addRecords, more);
}

/** The general case: the parts' keys and counts are gathered into one set and one map. */
export function breaksMany(rules: Limits, parts: readonly Countable[], extra: readonly CandidateKey[], addRecords: number, more?: CandidateKey): string | undefined {
  const counts = new Map<string, number>();
  const seen = new Set<string>();
  let records = addRecords;
  for (const w of parts) {
    records += w.state.recordCount;
    for (const k of w.keys) seen.add(k);
    for (const [cls, n] of w.classCounts) counts.set(cls, (counts.get(cls) ?? 0) + n);
  }
  const count = (c: CandidateKey) => {
    if (seen.has(c.key)) return;
    seen.add(c.key);
    counts.set(c.limitClass, (counts.get(c.limitClass) ?? 0) + 1);
  };
  for (const c of extra) count(c);
  if (more) count(more);
  if (records > rules.maxRecords) return `cap: more than ${rules.maxRecords} records in one profile`;
  if (seen.size > rules.maxIdentifiers) return `cap: more than ${rules.maxIdentifiers} identifiers in one profile`;
  for (const [cls, n] of counts) {
    const limit = rules.limitFor(cls);
    if (limit !== undefined && n > limit) return tooMany(limit, cls);
  }
  return undefined;
}

/** One profile (or none: a new one), the case of nearly every record. */
export function breaksOne(rules: Limits, w: Countable | undefined, extra: readonly CandidateKey[], addRecords: number, more?: CandidateKey): string | undefined {
  return breaksFew(rules, w, undefined, extra, addRecords, more);
}

/** The record's i-th key to count: `extra` in order, then `more`. */
const nth = (extra: readonly CandidateKey[], more: CandidateKey | undefined, i: number): CandidateKey => (i < extra.length ? extra[i] : more!);

/** Whether the record's i-th key is one it adds: neither part holds it and no earlier key of the record is it. */
function fresh(a: Countable | undefined, b: Countable | undefined, extra: readonly CandidateKey[], more: CandidateKey | undefined, i: number): boolean {
  const key = nth(extra, more, i).key;
  if (a?.keys.has(key) || b?.keys.has(key)) return false;
  for (let j = 0; j < i; j++) if (nth(extra, more, j).key === key) return false;
  return true;
}

/** How many keys of class `cls` the record adds. */
function freshOf(a: Countable | undefined, b: Countable | undefined, extra: readonly CandidateKey[], more: CandidateKey | undefined, n: number, cls: string): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (nth(extra, more, i).limitClass === cls && fresh(a, b, extra, more, i)) count++;
  return count;
}

function overLimit(rules: Limits, cls: string, count: number): string | undefined {
  const limit = rules.limitFor(cls);
  return limit !== undefined && count > limit ? tooMany(limit, cls) : undefined;
}

/**
 * Up to two profiles (`a`, then `b`; either may be absent), with `breaksMany`'s answer, reason
 * text included, but nothing built: no set of the parts' keys, no map of counts, no list of the
 * keys the record adds. A join asks this for every candidate profile of every identifier, and
 * the arrays and closures it used to build were 704 B per record (issue 13's allocation profile).
 * The record's keys are a handful, so counting them again for each class beats building a list.
 */
export function breaksFew(rules: Limits, a: Countable | undefined, b: Countable | undefined, extra: readonly CandidateKey[], addRecords: number, more?: CandidateKey): string | undefined {
  const records = addRecords + (a ? a.state.recordCount : 0) + (b ? b.state.recordCount : 0);
  if (records > rules.maxRecords) return `cap: more than ${rules.maxRecords} records in one profile`;
  const n = extra.length + (more ? 1 : 0);
  let size = (a ? a.keys.size : 0) + (b ? b.keys.size : 0);
  if (a && b) {
    // The keys both hold count once: walk the smaller set.
    const small = a.keys.size <= b.keys.size ? a.keys : b.keys;
    const large = small === a.keys ? b.keys : a.keys;
    for (const k of small) if (large.has(k)) size--;
  }
  for (let i = 0; i < n; i++) if (fresh(a, b, extra, more, i)) size++;
  if (size > rules.maxIdentifiers) return `cap: more than ${rules.maxIdentifiers} identifiers in one profile`;
  // Classes in breaksMany's order: a's, then b's new ones, then the record's new ones.
  if (a) {
    for (const [cls, count] of a.classCounts) {
      const why = overLimit(rules, cls, count + (b?.classCounts.get(cls) ?? 0) + freshOf(a, b, extra, more, n, cls));
      if (why) return why;
    }
  }
  if (b) {
    for (const [cls, count] of b.classCounts) {
      if (a?.classCounts.has(cls)) continue;
      const why = overLimit(rules, cls, count + freshOf(a, b, extra, more, n, cls));
      if (why) return why;
    }
  }
  for (let i = 0; i < n; i++) {
    const cls = nth(extra, more, i).limitClass;
    if (a?.classCounts.has(cls) || b?.classCounts.has(cls) || !fresh(a, b, extra, more, i)) continue;
    let earlier = false;
    for (let j = 0; j < i && !earlier; j++) earlier = nth(extra, more, j).limitClass === cls && fresh(a, b, extra, more, j);
    if (earlier) continue;
    const why = overLimit(rules, cls, freshOf(a, b, extra, more, n, cls));
    if (why) return why;
  }
  return undefined;
}
