import type { LinkRecord } from '../link.js';

/** People with distinct names and dates; each has 1-3 records with small typos. */
export function people(n: number): LinkRecord[] {
  const first = ['anna', 'oliver', 'maria', 'jakob', 'lena', 'noah', 'sofia', 'elias', 'mila', 'paul', 'emma', 'felix'];
  const last = ['berger', 'huber', 'wagner', 'pichler', 'moser', 'mayer', 'bauer', 'gruber', 'steiner', 'hofer', 'leitner', 'fuchs', 'eder', 'koller'];
  const out: LinkRecord[] = [];
  for (let p = 0; p < n; p++) {
    const base = { firstName: first[p % first.length], lastName: `${last[(p * 7) % last.length]}${Math.floor(p / 50)}`, dob: `19${String(50 + (p % 40)).padStart(2, '0')}${String(1 + (p % 12)).padStart(2, '0')}${String(1 + (p % 28)).padStart(2, '0')}`, zip: String(1000 + (p % 97)) };
    const copies = 1 + (p % 3);
    for (let c = 0; c < copies; c++) {
      const t = { ...base };
      if (c === 1) t.firstName = t.firstName.slice(0, -1) + 'x';
      if (c === 2) t.zip = t.zip.slice(0, -1) + ((Number(t.zip.slice(-1)) + 1) % 10);
      out.push({ key: `p${p}-${c}`, traits: t });
    }
  }
  return out;
}


/** The comparison and blocking settings the plugin's tests use with `people`. */
export const PEOPLE_SETTINGS = {
  comparisons: [
    { trait: 'firstName', kind: 'jaro-winkler', termFrequency: true },
    { trait: 'lastName', kind: 'jaro-winkler', termFrequency: true },
    { trait: 'dob', kind: 'date' },
    { trait: 'zip', kind: 'postcode' },
  ],
  blocking: [
    { name: 'zip', on: ['zip'] },
    { name: 'dob', on: ['dob'] },
  ],
  randomPairs: 5000,
};
