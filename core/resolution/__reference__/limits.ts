// Reference copy of core/resolution/limits.ts as of 5f26641 (before the issue-13 allocation work), kept unchanged
// so the differential test can run the old decisions next to the new ones. Not used by the worker.
// When resolution decisions change on purpose, the differential test no longer holds: delete this folder and the test with that change.
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
  return parts.length <= 1 ? breaksOne(rules, parts[0], extra, addRecords, more) : breaksMany(rules, parts, extra, addRecords, more);
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

/**
 * One profile (or none: a new one), the case of nearly every record: the same answer as
 * `breaksMany` without copying the profile's keys into a new set for each candidate join.
 */
export function breaksOne(rules: Limits, w: Countable | undefined, extra: readonly CandidateKey[], addRecords: number, more?: CandidateKey): string | undefined {
  const records = addRecords + (w ? w.state.recordCount : 0);
  if (records > rules.maxRecords) return `cap: more than ${rules.maxRecords} records in one profile`;
  // The keys this adds: not the profile's already, each once.
  const fresh: CandidateKey[] = [];
  const consider = (c: CandidateKey) => {
    if (w?.keys.has(c.key)) return;
    for (const f of fresh) if (f.key === c.key) return;
    fresh.push(c);
  };
  for (const c of extra) consider(c);
  if (more) consider(more);
  if ((w ? w.keys.size : 0) + fresh.length > rules.maxIdentifiers) return `cap: more than ${rules.maxIdentifiers} identifiers in one profile`;
  const freshOf = (cls: string) => {
    let n = 0;
    for (const f of fresh) if (f.limitClass === cls) n++;
    return n;
  };
  const check = (cls: string, n: number) => {
    const limit = rules.limitFor(cls);
    return limit !== undefined && n > limit ? tooMany(limit, cls) : undefined;
  };
  if (w) {
    for (const [cls, n] of w.classCounts) {
      const why = check(cls, n + freshOf(cls));
      if (why) return why;
    }
  }
  for (let i = 0; i < fresh.length; i++) {
    const cls = fresh[i].limitClass;
    if (w?.classCounts.has(cls)) continue;
    let earlier = false;
    for (let j = 0; j < i; j++) if (fresh[j].limitClass === cls) earlier = true;
    if (earlier) continue;
    const why = check(cls, freshOf(cls));
    if (why) return why;
  }
  return undefined;
}
