import jaroWinkler from 'talisman/metrics/jaro-winkler.js';
import type { ComparisonConfig } from './config.js';

/**
 * Comparison levels, Fellegi-Sunter style: each comparison sorts a pair into one
 * of an ordered list of levels (best first, "else" last); the first level that
 * holds wins. MISSING (either side empty) carries no evidence either way.
 */
export const MISSING = -1;

/** Lowercase, accents folded, spaces collapsed: the form every comparison sees. */
export function cleanText(s: string): string {
  return s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A trait value as a comparable string. Strings and finite numbers are accepted;
 * anything else (objects, arrays, booleans) is `undefined` and `unexpected` is
 * true, so the caller counts it as a warning and compares it as missing.
 */
export function readTrait(traits: Record<string, unknown>, path: string): { value?: string; unexpected: boolean } {
  let v: unknown = traits;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return { unexpected: false };
    v = (v as Record<string, unknown>)[part];
  }
  if (v === undefined || v === null) return { unexpected: false };
  if (typeof v === 'number' && Number.isFinite(v)) return { value: String(v), unexpected: false };
  if (typeof v !== 'string') return { unexpected: true };
  const clean = cleanText(v);
  return clean ? { value: clean, unexpected: false } : { unexpected: false };
}

/**
 * The value in the form its comparison works on, computed once per record rather
 * than once per pair: digits of a date or phone, a postcode without spaces, the
 * local part of an email. Empty forms are missing.
 */
export function comparableForm(c: ComparisonConfig, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let v: string;
  switch (c.kind) {
    case 'date':
    case 'phone-last':
      v = value.replace(/\D/g, '');
      if (c.kind === 'phone-last' && v.length < c.digits) return undefined;
      break;
    case 'postcode':
      v = value.replace(/\s/g, '');
      break;
    case 'email-local':
      v = value.split('@')[0];
      break;
    default:
      v = value;
  }
  return v || undefined;
}

/** Level labels, best first; the index is what `compareValues` returns. */
export function levelLabels(c: ComparisonConfig): string[] {
  switch (c.kind) {
    case 'exact':
      return ['exact', 'else'];
    case 'jaro-winkler':
      return ['exact', ...c.thresholds.map((t) => `jaro-winkler >= ${t}`), 'else'];
    case 'date':
      return ['exact', 'one digit off or day/month transposed', 'same year', 'else'];
    case 'postcode':
      return ['exact', 'one character off', 'else'];
    case 'tokens':
      return ['exact', 'most tokens shared or near-equal', 'a token shared', 'else'];
    case 'email-local':
      return ['exact local part', 'local part jaro-winkler >= 0.9', 'else'];
    case 'phone-last':
      return [`last ${c.digits} digits equal`, 'else'];
  }
}

/** Strings of equal length that differ in one place, or by one adjacent swap. */
export function oneEditApart(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const diff: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) {
    diff.push(i);
    if (diff.length > 2) return false;
  }
  if (diff.length === 1) return true;
  return diff.length === 2 && diff[1] === diff[0] + 1 && a[diff[0]] === b[diff[1]] && a[diff[1]] === b[diff[0]];
}

/** Both sides are digits only (comparableForm): `1960-02-10` and `19600210` are the same date. */
function compareDate(x: string, y: string): number {
  if (x === y) return 0;
  if (x.length === 8 && y.length === 8) {
    // YYYYMMDD: day and month written the wrong way round.
    if (x.slice(0, 4) === y.slice(0, 4) && x.slice(4, 6) === y.slice(6, 8) && x.slice(6, 8) === y.slice(4, 6)) return 1;
  }
  if (oneEditApart(x, y)) return 1;
  if (x.length >= 4 && x.slice(0, 4) === y.slice(0, 4)) return 2;
  return 3;
}

/** Jaro-Winkler similarity (talisman's, the implementation the name guard in core uses). */
export function similarity(a: string, b: string): number {
  return jaroWinkler(a, b);
}

/** Token sets of values seen, memoised (an address meets many pairs); cleared when full. */
const MEMO_LIMIT = 200_000;
interface TokenForm {
  set: Set<string>;
  squashed: string;
}
const tokenMemo = new Map<string, TokenForm>();
function tokenForm(s: string): TokenForm {
  let f = tokenMemo.get(s);
  if (!f) {
    if (tokenMemo.size >= MEMO_LIMIT) tokenMemo.clear();
    f = { set: new Set(s.split(/[\s,.;/-]+/).filter(Boolean)), squashed: s.replace(/[^a-z0-9]/g, '') };
    tokenMemo.set(s, f);
  }
  return f;
}

function compareTokens(a: string, b: string): number {
  if (a === b) return 0;
  const fa = tokenForm(a);
  const fb = tokenForm(b);
  let shared = 0;
  for (const t of fb.set) if (fa.set.has(t)) shared++;
  const union = fa.set.size + fb.set.size - shared;
  if (fa.squashed === fb.squashed || (union > 0 && shared / union >= 0.5) || similarity(fa.squashed, fb.squashed) >= 0.92) return 1;
  return shared > 0 ? 2 : 3;
}

/** The level of one pair of values in their comparable form (see comparableForm, levelLabels), or MISSING. */
export function compareValues(c: ComparisonConfig, a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return MISSING;
  switch (c.kind) {
    case 'exact':
      return a === b ? 0 : 1;
    case 'jaro-winkler': {
      if (a === b) return 0;
      const s = similarity(a, b);
      for (let i = 0; i < c.thresholds.length; i++) if (s >= c.thresholds[i]) return i + 1;
      return c.thresholds.length + 1;
    }
    case 'date':
      return compareDate(a, b);
    case 'postcode':
      if (a === b) return 0;
      return oneEditApart(a, b) ? 1 : 2;
    case 'tokens':
      return compareTokens(a, b);
    case 'email-local':
      if (a === b) return 0;
      return similarity(a, b) >= 0.9 ? 1 : 2;
    case 'phone-last':
      return a.slice(-c.digits) === b.slice(-c.digits) ? 0 : 1;
  }
}
