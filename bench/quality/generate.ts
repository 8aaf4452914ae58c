import { createRng, type Rng } from './prng.js';
import { formatPhone, landlineFor, mobileFor, PLACEHOLDER_PHONES, toE164, type Phone } from './phones.js';
import { isoTime, noisyEmail, noisyName, placeholderEmails, randomTime, sqlTime } from './noise.js';
import { asciiFold, COMPANY_DOMAINS, COUNTRY_WEIGHTS, FIRST_NAMES, LAST_NAMES, PERSONAL_DOMAINS, type Country } from './world.js';
import {
  DEFAULT_STREAMS,
  SOURCES,
  type CrmRow,
  type DatasetStats,
  type GeneratedDataset,
  type GeneratedPerson,
  type NewsletterRow,
  type OrderRow,
  type SourceName,
  type SupportRow,
  type TrapKind,
  type TrapPhone,
} from './types.js';

export * from './types.js';
export { writeDataset, toCsv } from './write-dataset.js';
export { reachableTruth, trapValues, coreNormalizers, type IdentifierNormalizers } from './reachable-truth.js';

export interface GenerateOptions {
  people: number;
  seed: number;
  /** Stream names in record keys; defaults to DEFAULT_STREAMS. */
  streams?: Partial<Record<SourceName, string>>;
}

/** Where the shop's own no-reply address comes from when an integration stores it as the customer's. */
const SHOP_DOMAIN = 'tributary-shop.com';
const CURRENCY: Record<Country, string> = { FR: 'EUR', DE: 'EUR', US: 'USD', GB: 'GBP' };

/** A person plus what only the generator needs: the structured phones and the shared mailbox they write from. */
interface Persona {
  person: GeneratedPerson;
  mobile?: Phone;
  landline?: Phone;
  /** Only set when the landline is shared by a household of two or more: then it is a trap. */
  sharedLandline: boolean;
  mailbox?: string;
}

interface Draft<R> {
  personId: string;
  at: number;
  traps: TrapKind[];
  row: R;
}

function uniqueEmail(rng: Rng, used: Set<string>, local: string, domain: string): string {
  let email = `${local}@${domain}`;
  // Two John Smiths must not share an address by accident: only declared traps may be shared.
  while (used.has(email)) email = `${local}${rng.int(1, 9999)}@${domain}`;
  used.add(email);
  return email;
}

function makePersonas(rng: Rng, count: number): Persona[] {
  const out: Persona[] = [];
  const used = new Set<string>();
  let households = 0;
  const add = (country: Country, lastName: string, householdId?: string, landline?: Phone) => {
    const firstName = rng.pick(FIRST_NAMES[country]);
    const f = asciiFold(firstName).toLowerCase();
    const l = asciiFold(lastName).toLowerCase();
    const local = rng.weighted([
      [`${f}.${l}`, 5],
      [`${f}${l}`, 2],
      [`${f[0]}${l}`, 2],
      [`${f}.${l}${rng.int(1, 99)}`, 2],
      [`${f}_${l}`, 1],
      [`${l}.${f}`, 1],
    ] as const);
    const emails = [uniqueEmail(rng, used, local, rng.pick(PERSONAL_DOMAINS[country]))];
    if (rng.chance(0.25)) emails.push(uniqueEmail(rng, used, `${f}.${l}`, rng.pick(COMPANY_DOMAINS)));
    const mobile = rng.chance(householdId ? 0.75 : 0.88) ? mobileFor(rng, country) : undefined;
    const ownLandline = landline ?? (rng.chance(0.1) ? landlineFor(rng, country) : undefined);
    const personId = `p${String(out.length + 1).padStart(6, '0')}`;
    out.push({
      person: { personId, country, firstName, lastName, emails, mobile: mobile && toE164(mobile), householdId, landline: ownLandline && toE164(ownLandline) },
      mobile,
      landline: ownLandline,
      sharedLandline: landline !== undefined,
    });
  };
  while (out.length < count) {
    const country = rng.weighted(COUNTRY_WEIGHTS);
    const lastName = rng.pick(LAST_NAMES[country]);
    const size = Math.min(rng.int(2, 4), count - out.length);
    if (size >= 2 && rng.chance(0.05)) {
      const id = `h${String(++households).padStart(5, '0')}`;
      const landline = landlineFor(rng, country);
      for (let i = 0; i < size; i++) add(country, lastName, id, landline);
    } else add(country, lastName);
  }
  return out;
}

/** Shared mailboxes: several distinct people of one customer company write tickets from the same address. */
function assignMailboxes(rng: Rng, personas: Persona[]): string[] {
  if (personas.length < 2) return [];
  const count = Math.max(1, Math.round(personas.length / 250));
  const boxes: string[] = [];
  for (let k = 0; k < count; k++) {
    const box = k === 0 ? 'support@company.com' : `${rng.pick(['support', 'contact', 'office', 'it-help'])}@${COMPANY_DOMAINS[k % COMPANY_DOMAINS.length]}`;
    if (boxes.includes(box)) continue;
    boxes.push(box);
    const members = rng.int(2, Math.min(6, personas.length));
    for (let i = 0; i < members; i++) rng.pick(personas).mailbox ??= box;
  }
  // A mailbox picked by fewer than two people is no trap: drop it, and its lone user writes from their own address.
  const real = boxes.filter((b) => personas.filter((p) => p.mailbox === b).length >= 2);
  for (const p of personas) if (p.mailbox && !real.includes(p.mailbox)) p.mailbox = undefined;
  return real;
}

function emailCell(rng: Rng, email: string, o: { missing: number; placeholder: number; noise: number }, traps: TrapKind[]): string | null {
  const r = rng.next();
  if (r < o.missing) return null;
  if (r < o.missing + o.placeholder) {
    traps.push('placeholder-email');
    return rng.pick(placeholderEmails(SHOP_DOMAIN));
  }
  return noisyEmail(rng, email, o.noise);
}

/** The phone a row carries: household landline, own landline or mobile, a placeholder, or nothing. */
function phoneCell(rng: Rng, p: Persona, o: { missing: number; national: boolean }, traps: TrapKind[]): string | null {
  const r = rng.next();
  if (r < 0.02) {
    traps.push('placeholder-phone');
    return rng.pick(PLACEHOLDER_PHONES);
  }
  if (r < 0.02 + o.missing) return null;
  const useLandline = p.landline && (!p.mobile || rng.chance(p.sharedLandline ? 0.55 : 0.3));
  const phone = useLandline ? p.landline : p.mobile;
  if (!phone) return null;
  if (useLandline && p.sharedLandline) traps.push('household-phone');
  return formatPhone(rng, phone, o.national);
}

function crmDraft(rng: Rng, p: Persona, duplicate: boolean): Draft<CrmRow> {
  const { person } = p;
  const traps: TrapKind[] = [];
  const [personal, work] = person.emails;
  // A duplicate CRM entry usually comes from the other address: that is how duplicates get created.
  const email = work && (duplicate || rng.chance(0.3)) ? work : personal;
  const country = rng.chance(0.03) ? null : person.country;
  const row: CrmRow = {
    crm_id: '',
    first_name: rng.chance(0.03) ? null : noisyName(rng, person.firstName),
    last_name: rng.chance(0.03) ? null : noisyName(rng, person.lastName),
    email: emailCell(rng, email, { missing: 0.05, placeholder: 0.025, noise: 0.15 }, traps),
    phone: phoneCell(rng, p, { missing: 0.2, national: country !== null && rng.chance(0.6) }, traps),
    country,
    updated_at: '',
  };
  const at = randomTime(rng);
  row.updated_at = sqlTime(at);
  return { personId: person.personId, at, traps, row };
}

function orderDrafts(rng: Rng, p: Persona): Array<Draft<OrderRow>> {
  const out: Array<Draft<OrderRow>> = [];
  let n = 1;
  while (n < 8 && rng.chance(0.45)) n++;
  for (let i = 0; i < n; i++) {
    const traps: TrapKind[] = [];
    const [personal, work] = p.person.emails;
    const email = work && rng.chance(0.25) ? work : personal;
    const at = randomTime(rng);
    out.push({
      personId: p.person.personId,
      at,
      traps,
      row: {
        order_id: '',
        email: emailCell(rng, email, { missing: 0.005, placeholder: 0.015, noise: 0.15 }, traps),
        amount: rng.int(500, 40_000) / 100,
        currency: CURRENCY[p.person.country],
        ordered_at: isoTime(at),
      },
    });
  }
  return out;
}

function supportDrafts(rng: Rng, p: Persona): Array<Draft<SupportRow>> {
  const out: Array<Draft<SupportRow>> = [];
  const { person } = p;
  const n = 1 + (rng.chance(0.35) ? 1 : 0) + (rng.chance(0.15) ? 1 : 0);
  for (let i = 0; i < n; i++) {
    const traps: TrapKind[] = [];
    let email: string | null;
    if (p.mailbox && rng.chance(0.7)) {
      traps.push('shared-mailbox');
      email = noisyEmail(rng, p.mailbox, 0.1);
    } else {
      const [personal, work] = person.emails;
      email = emailCell(rng, work && rng.chance(0.4) ? work : personal, { missing: 0.3, placeholder: 0.015, noise: 0.15 }, traps);
    }
    // Agents mostly type numbers internationally; national ones stay unreadable (no country column).
    const phone = phoneCell(rng, p, { missing: 0.4, national: rng.chance(0.25) }, traps);
    const first = noisyName(rng, person.firstName);
    const last = noisyName(rng, person.lastName);
    const name = rng.weighted([
      [`${first} ${last}`, 75],
      [`${last}, ${first}`, 5],
      [first, 10],
      [null, 10],
    ] as const);
    const at = randomTime(rng);
    out.push({ personId: person.personId, at, traps, row: { ticket_id: '', email, phone, name, created_at: isoTime(at) } });
  }
  return out;
}

function newsletterDrafts(rng: Rng, p: Persona): Array<Draft<NewsletterRow>> {
  const { person } = p;
  // Someone with two addresses sometimes subscribes with both.
  const emails = person.emails.length > 1 && rng.chance(0.15) ? person.emails : [person.emails[0]];
  return emails.map((clean) => {
    const traps: TrapKind[] = [];
    const at = randomTime(rng);
    const row: NewsletterRow = {
      email: emailCell(rng, clean, { missing: 0, placeholder: 0.01, noise: 0.2 }, traps),
      first_name: rng.chance(0.3) ? null : noisyName(rng, person.firstName),
      subscribed_at: isoTime(at),
      consent_marketing: rng.weighted([[true, 70], [false, 20], [null, 10]] as const),
    };
    return { personId: person.personId, at, traps, row };
  });
}

/** Which sources a persona shows up in; everyone shows up somewhere. */
function presence(rng: Rng, p: Persona): Set<SourceName> {
  const inHousehold = p.sharedLandline;
  const odds: Record<SourceName, number> = { crm: inHousehold ? 0.65 : 0.55, orders: 0.5, support: inHousehold ? 0.35 : 0.18, newsletter: 0.35 };
  const out = new Set(SOURCES.filter((s) => rng.chance(odds[s])));
  if (p.mailbox) out.add('support');
  if (out.size === 0) out.add(rng.weighted(SOURCES.map((s) => [s, odds[s]] as const)));
  return out;
}

/**
 * Builds the dataset. Deterministic: same options, same rows, same ids, same truth.
 * Rows are in time order per source and ids are given in that order, like an export.
 */
export function generatePeople(opts: GenerateOptions): GeneratedDataset {
  if (!Number.isInteger(opts.people) || opts.people < 1) throw new Error(`generatePeople: people must be a positive integer, got ${opts.people}`);
  const rng = createRng(opts.seed);
  const streams = { ...DEFAULT_STREAMS, ...opts.streams };
  const personas = makePersonas(rng, opts.people);
  const mailboxes = assignMailboxes(rng, personas);
  const drafts = { crm: [] as Array<Draft<CrmRow>>, orders: [] as Array<Draft<OrderRow>>, support: [] as Array<Draft<SupportRow>>, newsletter: [] as Array<Draft<NewsletterRow>> };
  const sourcesOf = new Map<string, Set<SourceName>>();
  let crmDuplicates = 0;
  for (const p of personas) {
    const where = presence(rng, p);
    sourcesOf.set(p.person.personId, where);
    if (where.has('crm')) {
      drafts.crm.push(crmDraft(rng, p, false));
      if (rng.chance(0.06)) {
        drafts.crm.push(crmDraft(rng, p, true));
        crmDuplicates++;
      }
    }
    if (where.has('orders')) drafts.orders.push(...orderDrafts(rng, p));
    if (where.has('support')) drafts.support.push(...supportDrafts(rng, p));
    if (where.has('newsletter')) drafts.newsletter.push(...newsletterDrafts(rng, p));
  }

  const truth = new Map<string, string>();
  const trapRecords = new Map<string, TrapKind[]>();
  const keys = { crm: [] as string[], orders: [] as string[], support: [] as string[], newsletter: [] as string[] };
  // Sort is stable, so equal timestamps keep generation order and the result stays deterministic.
  function finish<R>(source: SourceName, list: Array<Draft<R>>, setId: (row: R, i: number) => string): R[] {
    list.sort((a, b) => a.at - b.at);
    return list.map((d, i) => {
      const key = `${source}/${streams[source]}/${setId(d.row, i)}`;
      keys[source].push(key);
      truth.set(key, d.personId);
      if (d.traps.length) trapRecords.set(key, [...new Set(d.traps)]);
      return d.row;
    });
  }
  const rows = {
    crm: finish('crm', drafts.crm, (r, i) => (r.crm_id = `CRM-${String(i + 1).padStart(6, '0')}`)),
    orders: finish('orders', drafts.orders, (r, i) => (r.order_id = `ORD-${String(i + 1).padStart(7, '0')}`)),
    support: finish('support', drafts.support, (r, i) => (r.ticket_id = `TCK-${String(i + 1).padStart(6, '0')}`)),
    newsletter: finish('newsletter', drafts.newsletter, (_r, i) => `n${i}`),
  };

  const householdPhones = new Set(personas.flatMap((p) => (p.sharedLandline && p.landline ? [toE164(p.landline)] : [])));
  const trapPhones: TrapPhone[] = [...PLACEHOLDER_PHONES.map((value) => ({ value })), ...[...householdPhones].map((value) => ({ value }))];
  const stats = computeStats(personas, rows, sourcesOf, trapRecords, mailboxes.length, crmDuplicates);
  return {
    seed: opts.seed,
    streams,
    rows,
    keys,
    truth,
    people: personas.map((p) => p.person),
    traps: { emails: [...placeholderEmails(SHOP_DOMAIN), ...mailboxes], phones: trapPhones, records: trapRecords },
    stats,
  };
}

function computeStats(
  personas: Persona[],
  rows: GeneratedDataset['rows'],
  sourcesOf: Map<string, Set<SourceName>>,
  trapRecords: Map<string, TrapKind[]>,
  sharedMailboxes: number,
  crmDuplicates: number,
): DatasetStats {
  const bySourceCount: [number, number, number, number] = [0, 0, 0, 0];
  for (const s of sourcesOf.values()) bySourceCount[s.size - 1]++;
  const byKind: Record<TrapKind, number> = { 'placeholder-email': 0, 'placeholder-phone': 0, 'household-phone': 0, 'shared-mailbox': 0 };
  for (const kinds of trapRecords.values()) for (const k of kinds) byKind[k]++;
  const counts = { crm: rows.crm.length, orders: rows.orders.length, support: rows.support.length, newsletter: rows.newsletter.length };
  return {
    people: personas.length,
    rows: counts,
    records: counts.crm + counts.orders + counts.support + counts.newsletter,
    peopleBySourceCount: bySourceCount,
    peopleWithTwoEmails: personas.filter((p) => p.person.emails.length > 1).length,
    households: new Set(personas.map((p) => p.person.householdId).filter((h) => h !== undefined)).size,
    peopleInHouseholds: personas.filter((p) => p.person.householdId !== undefined).length,
    sharedMailboxes,
    crmDuplicates,
    trapRecords: trapRecords.size,
    trapRecordsByKind: byKind,
  };
}
