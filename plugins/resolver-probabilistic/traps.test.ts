import { describe, expect, it } from 'vitest';
import { probabilisticSchema } from './config.js';
import { linkAll, type LinkRecord } from './link.js';
import { linkRefusal, namesReader, recordNames } from './names.js';

/**
 * Regression tests for the trap merges the fuzzy quality bench showed
 * (`npm run bench -- quality`, 10,000 people): namesakes linked on their names
 * alone, and two people of one household or twins linked on a given name that
 * is a typo away, or a masculine/feminine form, of the other's.
 */

const guardOf = (nameGuard: Record<string, unknown> = {}) =>
  probabilisticSchema.parse({ comparisons: [{ trait: 'firstName', kind: 'exact' }], blocking: [{ name: 'n', on: ['lastName'] }], nameGuard }).nameGuard;
const guard = guardOf();
const rec = (firstName?: string, lastName?: string) => ({ firstName, lastName });
const refusal = (a: Record<string, unknown>, b: Record<string, unknown>) => linkRefusal(recordNames(a, guard), recordNames(b, guard), guard);

describe('given-name guard on a link with no identifier behind it', () => {
  it('refuses two given names of one household that the bench merged: two edits apart, or one name plus a letter or two', () => {
    expect(refusal(rec('Marie', 'Robert'), rec('Mathieu', 'Robert'))).toBe('names');
    expect(refusal(rec('Charlie', 'Hughes'), rec('Arhie', 'Hughes'))).toBe('names');
    expect(refusal(rec('Lea', 'Zimmermann'), rec('Elas', 'Zimmermann'))).toBe('names');
    expect(refusal(rec('Julie', 'Bernard'), rec('Julien', 'Bernard'))).toBe('names');
    expect(refusal(rec('Louis', 'Martin'), rec('Louise', 'Martin'))).toBe('names');
  });

  it('refuses a link where one record carries no given name (at a household address it could be anyone there)', () => {
    expect(refusal(rec(undefined, 'Thomas'), rec('Thomas', 'Thomas'))).toBe('no-given');
    expect(linkRefusal(recordNames(rec(undefined, 'Hoffmann'), guard), recordNames(rec('Hannah', 'Hoffmann'), guard), guardOf({ requireGivenName: false }))).toBeUndefined();
  });

  it('still links one person through a one-letter typo, case, accents, a nickname, an initial and swapped names', () => {
    expect(refusal(rec('Sophie', 'Smith'), rec('Sphie', 'Smmith'))).toBeUndefined();
    expect(refusal(rec('Anna', 'Huber'), rec('Annx', 'Huber'))).toBeUndefined();
    expect(refusal(rec('ÉLODIE', 'Dubois'), rec('Elodie', 'Dubois'))).toBeUndefined();
    expect(refusal(rec('William', 'Jones'), rec('Bill', 'Jones'))).toBeUndefined();
    expect(refusal(rec('Christopher', 'Lee'), rec('Chris', 'Lee'))).toBeUndefined();
    expect(refusal(rec('J', 'Lee'), rec('John', 'Lee'))).toBeUndefined();
    expect(refusal(rec('Chloé', 'Dubois'), rec('Dubois', 'Chloe'))).toBeUndefined();
  });
});

/**
 * The last two household merges of the fuzzy bench (10,000 people, seed 42), both made by
 * one link on the shared address alone (postcode, street, city exact; date of birth "else"):
 * Hannah Zimmermann (1964) with Anna Zimmermann (1994), names the nickname list relates; and
 * "Schwarz Leno" (Leon, 1955, given and family swapped and a typo) with Lena Schwarz (1994).
 */
describe('a weak given-name match between two different dates of birth', () => {
  const dated = (firstName: string, lastName: string, dateOfBirth?: string) => ({ firstName, lastName, dateOfBirth });
  const dates = ['dateOfBirth'];
  const refusalDated = (a: Record<string, unknown>, b: Record<string, unknown>) => linkRefusal(recordNames(a, guard, dates), recordNames(b, guard, dates), guard);

  it('refuses the two household links the bench merged', () => {
    expect(refusalDated(dated('Hannah', 'Zimmermann', '1964-08-01'), dated('Anna', 'Zimmermann', '1994-03-17'))).toBe('names');
    expect(refusalDated(dated('Schwarz', 'Leno', '1955-12-23'), dated('Lena', 'Schwarz', '1994-04-26'))).toBe('names');
  });

  it('still links a nickname, a typo or a swap when the dates of birth agree, are near (a typo) or one is missing', () => {
    expect(refusalDated(dated('Hannah', 'Zimmermann', '1964-08-01'), dated('Anna', 'Zimmermann', '1964-08-01'))).toBeUndefined();
    expect(refusalDated(dated('William', 'Jones', '1980-05-12'), dated('Bill', 'Jones', '1980-05-21'))).toBeUndefined();
    expect(refusalDated(dated('Schwarz', 'Leno', '1955-12-23'), dated('Leon', 'Schwarz', '1955-12-23'))).toBeUndefined();
    expect(refusalDated(dated('Anna', 'Huber', '1970-01-02'), dated('Annx', 'Huber'))).toBeUndefined();
  });

  it('reads the dates of birth from the traits the configuration compares as dates (what link and resolver use)', () => {
    const cfg = probabilisticSchema.parse({
      comparisons: [{ trait: 'firstName', kind: 'jaro-winkler' }, { trait: 'born', kind: 'date' }, { trait: 'zip', kind: 'postcode' }],
      blocking: [{ name: 'zip', on: ['zip'] }],
    });
    const read = namesReader(cfg);
    const refused = (a: Record<string, unknown>, b: Record<string, unknown>) => linkRefusal(read(a), read(b), cfg.nameGuard);
    expect(refused({ firstName: 'Hannah', lastName: 'Zimmermann', born: '1964-08-01', zip: '79900' }, { firstName: 'Anna', lastName: 'Zimmermann', born: '1994-03-17', zip: '79900' })).toBe('names');
    // A postcode is not a date: two different ones leave the nickname link to the model.
    expect(refused({ firstName: 'Hannah', lastName: 'Zimmermann', zip: '79900' }, { firstName: 'Anna', lastName: 'Zimmermann', zip: '10115' })).toBeUndefined();
  });

  it('leaves an equal or strongly similar given name to the model whatever the dates say (namesakes are the model\'s to weigh)', () => {
    expect(refusalDated(dated('Hannah', 'Zimmermann', '1964-08-01'), dated('Hannah', 'Zimmermann', '1994-03-17'))).toBeUndefined();
    expect(refusalDated(dated('Sophie', 'Smith', '1964-08-01'), dated('Sopihe', 'Smith', '1994-03-17'))).toBeUndefined();
  });
});

/** A seeded generator, so the world is the same on every run. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/**
 * Few names, so namesakes are common (as in any real country: many people are
 * called Thomas Müller): 3,000 people from 12 given and 12 family names, born in
 * 40 years, each at their own postcode, two records each (the second with a typo
 * in the given name, a missing postcode or a wrong digit in the date now and then).
 */
function namesakeWorld(): { records: LinkRecord[]; person: Map<string, number> } {
  const r = rng(7);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const first = ['thomas', 'anna', 'lukas', 'marie', 'paul', 'sophie', 'jonas', 'emma', 'felix', 'lena', 'david', 'clara'];
  const last = ['mueller', 'schmidt', 'schneider', 'fischer', 'weber', 'meyer', 'wagner', 'becker', 'schulz', 'hoffmann', 'koch', 'richter'];
  const cities = ['koeln', 'bremen', 'leipzig'];
  const records: LinkRecord[] = [];
  const person = new Map<string, number>();
  for (let p = 0; p < 3000; p++) {
    const two = (n: number) => String(n).padStart(2, '0');
    const base = {
      firstName: pick(first),
      lastName: pick(last),
      dob: `${1950 + Math.floor(r() * 40)}-${two(1 + Math.floor(r() * 12))}-${two(1 + Math.floor(r() * 28))}`,
      zip: String(10000 + Math.floor(r() * 89999)),
      city: pick(cities),
    };
    for (let c = 0; c < 2; c++) {
      const t: Record<string, unknown> = { ...base };
      if (c === 1) {
        const x = r();
        if (x < 0.2) t.firstName = base.firstName.slice(0, 1) + base.firstName.slice(2, 3) + base.firstName.slice(1, 2) + base.firstName.slice(3);
        else if (x < 0.4) delete t.zip;
        else if (x < 0.5) t.dob = base.dob.slice(0, -1) + ((Number(base.dob.slice(-1)) + 1) % 10);
      }
      const key = `p${p}-${c}`;
      records.push({ key, traits: t });
      person.set(key, p);
    }
  }
  return { records, person };
}

describe('namesakes: the same given and family name is not one person', () => {
  it('links the two records of each person, and never two namesakes whose dates of birth and postcodes differ', () => {
    const cfg = probabilisticSchema.parse({
      comparisons: [
        { trait: 'firstName', kind: 'jaro-winkler', termFrequency: true },
        { trait: 'lastName', kind: 'jaro-winkler', termFrequency: true },
        { trait: 'dob', kind: 'date' },
        { trait: 'zip', kind: 'postcode' },
        { trait: 'city', kind: 'exact', termFrequency: true },
      ],
      blocking: [
        { name: 'zip', on: ['zip'] },
        { name: 'dob', on: ['dob'] },
        { name: 'surname-year', on: [{ trait: 'lastName', transform: 'metaphone' }, { trait: 'dob', transform: 'year' }] },
      ],
      randomPairs: 50_000,
      em: { maxIterations: 1000 },
    });
    const { records, person } = namesakeWorld();
    const out = linkAll(records, cfg);
    expect(out.model.unseparated ?? []).toEqual([]);
    expect(out.model.converged).toBe(true);
    const wrong = out.applied.filter((l) => person.get(records[l.a].key) !== person.get(records[l.b].key));
    expect(wrong.map((l) => [records[l.a].traits, records[l.b].traits])).toEqual([]);
    // Recall: nearly every person's two records end up together.
    let together = 0;
    for (let p = 0; p < 3000; p++) if (out.clusters.get(`p${p}-0`) === out.clusters.get(`p${p}-1`)) together++;
    expect(together / 3000).toBeGreaterThan(0.95);
  });
});
