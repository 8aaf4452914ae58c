import type { FebrlRow } from './febrl.js';

/**
 * FEBRL-like records at any size, for the speed figures: values drawn from the
 * FEBRL files' own pools (names, streets, suburbs, postcodes), one to three records
 * per person, the copies with the kind of noise FEBRL has (a letter changed, a
 * digit changed, a value dropped). Seeded, so every run sees the same data.
 */
export function febrlLike(pool: FebrlRow[], records: number, seed = 7): FebrlRow[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const values = (t: string) => [...new Set(pool.map((r) => r.traits[t]).filter((v): v is string => !!v))];
  const cols = ['firstName', 'lastName', 'streetNumber', 'address1', 'address2', 'suburb', 'postcode', 'state'];
  const pools = Object.fromEntries(cols.map((c) => [c, values(c)]));
  const typo = (v: string) => {
    if (v.length < 2) return v;
    const i = Math.floor(rand() * v.length);
    return v.slice(0, i) + String.fromCharCode(97 + Math.floor(rand() * 26)) + v.slice(i + 1);
  };
  const out: FebrlRow[] = [];
  for (let p = 0; out.length < records; p++) {
    const base: Record<string, string> = {};
    for (const c of cols) base[c] = pick(pools[c]);
    const y = 1920 + Math.floor(rand() * 85);
    const m = 1 + Math.floor(rand() * 12);
    const d = 1 + Math.floor(rand() * 28);
    base.dateOfBirth = `${y}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}`;
    base.ssn = String(1_000_000 + Math.floor(rand() * 8_999_999));
    const copies = 1 + Math.floor(rand() * 3);
    for (let c = 0; c < copies && out.length < records; c++) {
      const traits = { ...base };
      if (c > 0) {
        for (let k = 0; k < 2; k++) {
          const f = pick([...cols, 'dateOfBirth', 'ssn']);
          if (rand() < 0.2) delete traits[f];
          else if (traits[f]) traits[f] = typo(traits[f]);
        }
      }
      out.push({ recId: `rec-${p}-${c === 0 ? 'org' : `dup-${c - 1}`}`, entity: String(p), traits });
    }
  }
  return out;
}
