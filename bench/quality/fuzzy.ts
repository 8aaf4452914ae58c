import type { CanonicalRecord } from '../../core/schema/canonical.js';
import { landlineFor, mobileFor, toE164 } from './phones.js';
import { createRng, type Rng } from './prng.js';
import { typo } from './noise.js';
import { asciiFold, COUNTRY_WEIGHTS, FIRST_NAMES, LAST_NAMES, PERSONAL_DOMAINS, type Country } from './world.js';

/**
 * The fuzzy profile: people with a date of birth and an address, whose records
 * use different emails and phones (so exact identifiers cannot join all of
 * them), carry typos, swapped given/family names and missing values, and two
 * traps that look like one person to a careless matcher:
 * - households: same family name, address, postcode and landline, different given names and dates of birth;
 * - twins: same family name, date of birth, address and landline, different given names.
 * Records are canonical (already mapped): the profile scores resolvers, not mappings.
 */

const STREETS: Record<Country, readonly string[]> = {
  FR: ['rue de la Paix', 'avenue Victor Hugo', 'rue des Lilas', 'boulevard Voltaire', 'rue du Moulin', 'place de la Gare', 'rue Pasteur', 'allée des Chênes'],
  US: ['Main Street', 'Oak Avenue', 'Maple Drive', 'Cedar Lane', 'Elm Street', 'Washington Avenue', 'Lake Road', 'Hillcrest Drive'],
  GB: ['High Street', 'Station Road', 'Church Lane', 'Victoria Road', 'Green Lane', 'Manor Road', 'Park Avenue', 'Kings Road'],
  DE: ['Hauptstraße', 'Schulstraße', 'Gartenweg', 'Bahnhofstraße', 'Lindenallee', 'Bergstraße', 'Kirchweg', 'Am Markt'],
};
const CITIES: Record<Country, readonly string[]> = {
  FR: ['Paris', 'Lyon', 'Nantes', 'Lille', 'Rennes', 'Toulouse'],
  US: ['Springfield', 'Portland', 'Austin', 'Denver', 'Boston', 'Seattle'],
  GB: ['Leeds', 'Bristol', 'York', 'Norwich', 'Bath', 'Derby'],
  DE: ['Köln', 'Bremen', 'Leipzig', 'Dresden', 'Mainz', 'Kassel'],
};

export interface FuzzyPerson {
  personId: string;
  country: Country;
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  address: string;
  postcode: string;
  city: string;
  emails: string[];
  /** E.164; the first may be a household landline. */
  phones: string[];
  householdId?: string;
  twinOf?: string;
}

export interface FuzzyDataset {
  seed: number;
  people: FuzzyPerson[];
  records: CanonicalRecord[];
  /** record key -> person id. */
  truth: Map<string, string>;
  /** Pairs of different people who share an address and landline: [personId, personId, kind]. */
  trapPairs: Array<[string, string, 'household' | 'twins']>;
}

function postcodeFor(rng: Rng, c: Country): string {
  const d = (n: number) => Array.from({ length: n }, () => rng.int(0, 9)).join('');
  if (c === 'GB') return `${String.fromCharCode(65 + rng.int(0, 25))}${String.fromCharCode(65 + rng.int(0, 25))}${rng.int(1, 20)} ${rng.int(1, 9)}${String.fromCharCode(65 + rng.int(0, 25))}${String.fromCharCode(65 + rng.int(0, 25))}`;
  return d(5);
}

function dobFor(rng: Rng, from: number, to: number): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${rng.int(from, to)}-${p(rng.int(1, 12))}-${p(rng.int(1, 28))}`;
}

/** A date of birth as typed: one digit wrong, or day and month swapped (when both read as a month). */
function dobTypo(rng: Rng, dob: string): string {
  const [y, m, d] = dob.split('-');
  if (Number(d) <= 12 && d !== m && rng.chance(0.5)) return `${y}-${d}-${m}`;
  const digits = dob.replace(/-/g, '').split('');
  const i = rng.int(2, 7);
  digits[i] = String((Number(digits[i]) + rng.int(1, 8)) % 10);
  const s = digits.join('');
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}

function otherGiven(rng: Rng, c: Country, taken: string[]): string {
  let name = rng.pick(FIRST_NAMES[c]);
  while (taken.some((t) => asciiFold(t).toLowerCase() === asciiFold(name).toLowerCase())) name = rng.pick(FIRST_NAMES[c]);
  return name;
}

function makePeople(rng: Rng, count: number): { people: FuzzyPerson[]; trapPairs: FuzzyDataset['trapPairs'] } {
  const people: FuzzyPerson[] = [];
  const trapPairs: FuzzyDataset['trapPairs'] = [];
  const usedEmails = new Set<string>();
  let households = 0;
  const email = (c: Country, first: string, last: string): string => {
    const f = asciiFold(first).toLowerCase();
    const l = asciiFold(last).toLowerCase();
    let e = `${rng.pick([`${f}.${l}`, `${f}${l}`, `${f[0]}${l}`, `${l}.${f}`])}@${rng.pick(PERSONAL_DOMAINS[c])}`;
    while (usedEmails.has(e)) e = e.replace('@', `${rng.int(1, 999)}@`);
    usedEmails.add(e);
    return e;
  };
  const add = (p: Omit<FuzzyPerson, 'personId' | 'emails' | 'phones'>, landline?: string): FuzzyPerson => {
    const emails = [email(p.country, p.firstName, p.lastName)];
    // Different emails on different records: what exact identifiers cannot join.
    if (rng.chance(0.6)) emails.push(email(p.country, p.firstName, p.lastName));
    if (rng.chance(0.2)) emails.push(email(p.country, p.firstName, p.lastName));
    const phones = [...(landline ? [landline] : []), toE164(mobileFor(rng, p.country))];
    if (rng.chance(0.3)) phones.push(toE164(mobileFor(rng, p.country)));
    const person = { ...p, personId: `f${String(people.length + 1).padStart(6, '0')}`, emails, phones };
    people.push(person);
    return person;
  };
  while (people.length < count) {
    const country = rng.weighted(COUNTRY_WEIGHTS);
    const lastName = rng.pick(LAST_NAMES[country]);
    const home = { address: `${rng.int(1, 180)} ${rng.pick(STREETS[country])}`, postcode: postcodeFor(rng, country), city: rng.pick(CITIES[country]) };
    const r = rng.next();
    if (r < 0.1 && count - people.length >= 2) {
      // A household of 2-4: one landline, one address, different given names and ages.
      const landline = toE164(landlineFor(rng, country));
      const householdId = `h${++households}`;
      const size = Math.min(rng.int(2, 4), count - people.length);
      const members: FuzzyPerson[] = [];
      for (let i = 0; i < size; i++) {
        const firstName = otherGiven(rng, country, members.map((m) => m.firstName));
        members.push(add({ country, firstName, lastName, dateOfBirth: dobFor(rng, 1950 + i * 12, 1960 + i * 12), ...home, householdId }, landline));
      }
      for (let i = 0; i < members.length; i++) for (let j = i + 1; j < members.length; j++) trapPairs.push([members[i].personId, members[j].personId, 'household']);
    } else if (r < 0.14 && count - people.length >= 2) {
      // Twins: everything but the given name (and their own emails and mobiles) is the same.
      const landline = toE164(landlineFor(rng, country));
      const dateOfBirth = dobFor(rng, 1960, 2004);
      const a = add({ country, firstName: rng.pick(FIRST_NAMES[country]), lastName, dateOfBirth, ...home, householdId: `h${++households}` }, landline);
      const b = add({ country, firstName: otherGiven(rng, country, [a.firstName]), lastName, dateOfBirth, ...home, householdId: a.householdId, twinOf: a.personId }, landline);
      trapPairs.push([a.personId, b.personId, 'twins']);
    } else {
      add({ country, firstName: rng.pick(FIRST_NAMES[country]), lastName, dateOfBirth: dobFor(rng, 1945, 2005), ...home }, rng.chance(0.1) ? toE164(landlineFor(rng, country)) : undefined);
    }
  }
  return { people, trapPairs };
}

/** One record of a person: some identifiers, noisy traits. */
function recordOf(rng: Rng, p: FuzzyPerson, n: number): CanonicalRecord {
  const identifiers: CanonicalRecord['identifiers'] = [];
  if (rng.chance(0.8)) identifiers.push({ type: 'email', value: rng.pick(p.emails) });
  if (rng.chance(0.45)) identifiers.push({ type: 'phone', value: rng.pick(p.phones) });
  let first: string | undefined = rng.chance(0.1) ? typo(rng, p.firstName) : p.firstName;
  let last: string | undefined = rng.chance(0.1) ? typo(rng, p.lastName) : p.lastName;
  if (rng.chance(0.05)) [first, last] = [last, first];
  if (rng.chance(0.04)) first = undefined;
  if (rng.chance(0.03)) last = undefined;
  const r = rng.next();
  const dateOfBirth = r < 0.12 ? undefined : r < 0.18 ? dobTypo(rng, p.dateOfBirth) : p.dateOfBirth;
  const traits: Record<string, unknown> = {};
  if (first) traits.firstName = rng.chance(0.05) ? first.toUpperCase() : first;
  if (last) traits.lastName = last;
  if (dateOfBirth) traits.dateOfBirth = dateOfBirth;
  if (rng.chance(0.92)) traits.postcode = p.postcode;
  if (rng.chance(0.85)) traits.address = rng.chance(0.1) ? typo(rng, p.address) : p.address;
  if (rng.chance(0.85)) traits.city = p.city;
  return {
    kind: 'identify',
    source: 'fuzzy',
    stream: 'people',
    recordId: `${p.personId}-${n}`,
    observedAt: new Date(Date.UTC(2025, 0, 1) + rng.int(0, 300) * 86_400_000).toISOString(),
    identifiers,
    traits,
  };
}

/** Deterministic: same options, same people, records and truth. Records are shuffled (no person arrives in one piece). */
export function generateFuzzy(opts: { people: number; seed: number }): FuzzyDataset {
  if (!Number.isInteger(opts.people) || opts.people < 2) throw new Error(`generateFuzzy: people must be an integer >= 2, got ${opts.people}`);
  const rng = createRng(opts.seed);
  const { people, trapPairs } = makePeople(rng, opts.people);
  const records: CanonicalRecord[] = [];
  const truth = new Map<string, string>();
  for (const p of people) {
    let n = 1;
    while (n < 6 && rng.chance(0.55)) n++;
    for (let i = 0; i < n; i++) {
      const rec = recordOf(rng, p, i + 1);
      records.push(rec);
      truth.set(`${rec.source}/${rec.stream}/${rec.recordId}`, p.personId);
    }
  }
  return { seed: opts.seed, people, records: rng.shuffle(records), truth, trapPairs };
}

/**
 * The exact-identifier ceiling: the records of each person joined only where they
 * share an email or a phone (shared landlines count only within the person). No
 * exact-identifier resolver can beat the recall of this partition.
 */
export function fuzzyReachable(ds: FuzzyDataset): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  const owner = new Map<string, string>();
  for (const rec of ds.records) {
    const key = `${rec.source}/${rec.stream}/${rec.recordId}`;
    parent.set(key, key);
    const person = ds.truth.get(key)!;
    for (const id of rec.identifiers) {
      const node = `${person}\u0000${id.type}\u0000${id.value}`;
      const seen = owner.get(node);
      if (seen) parent.set(find(key), find(seen));
      else owner.set(node, key);
    }
  }
  return new Map([...parent.keys()].map((k) => [k, find(k)]));
}
