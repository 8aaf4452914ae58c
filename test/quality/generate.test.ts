import { describe, expect, it } from 'vitest';
import { isValidPhoneNumber } from 'libphonenumber-js';
import { coreNormalizers, generatePeople, SOURCES, trapValues, type GeneratedDataset } from '../../bench/quality/generate.js';

const PLACEHOLDER_EMAILS = new Set(['test@test.com', 'none@none.com', 'n/a', '', 'noreply@tributary-shop.com']);

/** Every (normalized identifier -> persons presenting it), read from the raw rows the way a resolver would. */
function identifierOwners(d: GeneratedDataset): Map<string, Set<string>> {
  const owners = new Map<string, Set<string>>();
  const add = (key: string, id: string | null) => {
    if (id === null) return;
    const person = d.truth.get(key) ?? '';
    owners.set(id, (owners.get(id) ?? new Set()).add(person));
  };
  const email = (v: string | null) => (v === null ? null : coreNormalizers.email(v));
  const phone = (v: string | null, region?: string) => {
    const p = v === null ? null : coreNormalizers.phone(v, region);
    return p === null ? null : `tel:${p}`;
  };
  d.rows.crm.forEach((r, i) => (add(d.keys.crm[i], email(r.email)), add(d.keys.crm[i], phone(r.phone, r.country ?? undefined))));
  d.rows.orders.forEach((r, i) => add(d.keys.orders[i], email(r.email)));
  d.rows.support.forEach((r, i) => (add(d.keys.support[i], email(r.email)), add(d.keys.support[i], phone(r.phone))));
  d.rows.newsletter.forEach((r, i) => add(d.keys.newsletter[i], email(r.email)));
  return owners;
}

describe('generatePeople', () => {
  const d = generatePeople({ people: 2000, seed: 42 });

  it('is deterministic for a seed and differs across seeds', () => {
    const again = generatePeople({ people: 2000, seed: 42 });
    expect(again.rows).toEqual(d.rows);
    expect([...again.truth]).toEqual([...d.truth]);
    expect(again.stats).toEqual(d.stats);
    const other = generatePeople({ people: 2000, seed: 43 });
    expect(other.rows.crm).not.toEqual(d.rows.crm);
  });

  it('gives every row a truth entry and every person at least one row', () => {
    const total = SOURCES.reduce((n, s) => n + d.rows[s].length, 0);
    expect(d.truth.size).toBe(total);
    expect(d.stats.records).toBe(total);
    for (const s of SOURCES) {
      expect(d.keys[s]).toHaveLength(d.rows[s].length);
      for (const k of d.keys[s]) expect(d.truth.has(k)).toBe(true);
    }
    expect(new Set(d.truth.values()).size).toBe(2000);
    expect(d.stats.peopleBySourceCount.reduce((a, b) => a + b, 0)).toBe(2000);
    // Some people appear in one source only, some in all four.
    expect(d.stats.peopleBySourceCount[0]).toBeGreaterThan(0);
    expect(d.stats.peopleBySourceCount[3]).toBeGreaterThan(0);
  });

  it('builds record keys as source/stream/primary key, unique per source', () => {
    const ids = {
      crm: d.rows.crm.map((r) => r.crm_id),
      orders: d.rows.orders.map((r) => r.order_id),
      support: d.rows.support.map((r) => r.ticket_id),
      newsletter: d.rows.newsletter.map((_r, i) => `n${i}`),
    };
    for (const s of SOURCES) {
      expect(new Set(ids[s]).size).toBe(ids[s].length);
      expect(d.keys[s]).toEqual(ids[s].map((id) => `${s}/${d.streams[s]}/${id}`));
    }
    expect(d.keys.crm[0]).toBe('crm/customers/CRM-000001');
    const custom = generatePeople({ people: 5, seed: 1, streams: { newsletter: 'newsletter' } });
    expect(custom.keys.newsletter.every((k) => k.startsWith('newsletter/newsletter/n'))).toBe(true);
  });

  it('plants placeholder emails shared by unrelated people', () => {
    const holders = new Map<string, Set<string>>();
    SOURCES.forEach((s) =>
      d.rows[s].forEach((r, i) => {
        const e = r.email === null ? null : r.email.trim().toLowerCase();
        if (e !== null && PLACEHOLDER_EMAILS.has(e)) holders.set(e, (holders.get(e) ?? new Set()).add(d.truth.get(d.keys[s][i]) ?? ''));
      }),
    );
    const records = [...d.traps.records.values()].filter((k) => k.includes('placeholder-email')).length;
    expect(records).toBeGreaterThan(0);
    expect(holders.get('test@test.com')?.size ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('plants household landlines and shared mailboxes used by several people', () => {
    const owners = identifierOwners(d);
    const household = d.people.filter((p) => p.householdId && p.landline);
    const sharedLandlines = new Set(household.map((p) => `tel:${p.landline}`).filter((id) => (owners.get(id)?.size ?? 0) >= 2));
    expect(sharedLandlines.size).toBeGreaterThan(0);
    for (const id of sharedLandlines) {
      const persons = [...(owners.get(id) ?? [])].map((pid) => d.people.find((p) => p.personId === pid));
      // Same family: one household, distinct people with distinct addresses.
      expect(new Set(persons.map((p) => p?.householdId)).size).toBe(1);
      expect(new Set(persons.map((p) => p?.emails[0])).size).toBe(persons.length);
    }
    expect(owners.get('support@company.com')?.size ?? 0).toBeGreaterThanOrEqual(2);
    expect(d.stats.trapRecordsByKind['shared-mailbox']).toBeGreaterThan(0);
    expect(d.stats.trapRecordsByKind['placeholder-phone']).toBeGreaterThan(0);
  });

  it('shares identifier values across people only through declared traps', () => {
    const traps = trapValues(d, coreNormalizers);
    const declared = new Set([...traps.emails, ...[...traps.phones].map((p) => `tel:${p}`)]);
    const accidental = [...identifierOwners(d)].filter(([id, persons]) => persons.size > 1 && !declared.has(id));
    expect(accidental).toEqual([]);
  });

  it('writes phones libphonenumber accepts, in national and international forms', () => {
    const phones = d.people.flatMap((p) => [p.mobile, p.landline]).filter((p): p is string => p !== undefined);
    const valid = phones.filter((p) => isValidPhoneNumber(p)).length;
    expect(valid / phones.length).toBeGreaterThan(0.98);
    const written = d.rows.crm.map((r) => r.phone).filter((p): p is string => p !== null);
    expect(written.some((p) => /^0[67] \d\d \d\d \d\d \d\d$/.test(p))).toBe(true); // FR national
    expect(written.some((p) => /^\(\d{3}\) \d{3}-\d{4}$/.test(p))).toBe(true); // US national
    expect(written.some((p) => p.startsWith('+33 '))).toBe(true);
    expect(written.some((p) => p.startsWith('0033'))).toBe(true);
  });

  it('adds realistic noise: padded and mixed-case emails, missing values, second emails', () => {
    const emails = d.rows.crm.map((r) => r.email).filter((e): e is string => e !== null);
    expect(emails.some((e) => e !== e.trim())).toBe(true);
    expect(emails.some((e) => /[A-Z]/.test(e))).toBe(true);
    expect(d.rows.support.some((r) => r.email === null)).toBe(true);
    expect(d.rows.crm.some((r) => r.phone === null)).toBe(true);
    expect(d.stats.peopleWithTwoEmails).toBeGreaterThan(0);
    expect(d.stats.crmDuplicates).toBeGreaterThan(0);
  });

  it('rejects a non-positive people count', () => {
    expect(() => generatePeople({ people: 0, seed: 1 })).toThrow(/positive integer/);
  });
});
