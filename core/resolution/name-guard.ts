/**
 * Given-name compatibility, the guard against the two traps exact identifiers
 * cannot see: a household landline and a shared mailbox link people who are
 * different by name. A merge made through a guarded identifier type is refused
 * when both sides name a person and the names cannot be the same person's.
 */

/** Lowercase, accents folded, letters only: "  Chloé " -> "chloe". */
export function foldName(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const f = v.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z]/g, '');
  return f.length >= 2 ? f : undefined;
}

/** The given name of a record or profile: `firstName`, else the first word of a full name. */
export function givenName(traits: Record<string, unknown>, fields: readonly string[]): string | undefined {
  for (const f of fields) {
    const v = traits[f];
    if (typeof v !== 'string' || !v.trim()) continue;
    // A full name is "First Last", or "Last, First" as many exports write it.
    const full = v.includes(',') ? v.slice(v.indexOf(',') + 1) : v;
    const first = /name$/i.test(f) && !/^first/i.test(f) ? full.trim().split(/\s+/)[0] : v;
    const folded = foldName(first);
    if (folded) return folded;
  }
  return undefined;
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

/** Same person's given name, allowing a typo, a diminutive prefix (Chris/Christopher) and accents. */
export function namesCompatible(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || a === b) return true;
  if (a.length >= 3 && b.length >= 3 && (a.startsWith(b) || b.startsWith(a))) return true;
  const max = Math.min(a.length, b.length) >= 7 ? 2 : 1;
  return editDistance(a, b, max) <= max;
}
