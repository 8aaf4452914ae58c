import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolutionSchema } from '../config/schema.js';
import type { CanonicalRecord, Identifier } from '../schema/canonical.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { DeterministicResolver } from './deterministic.js';
import { captureLogger } from '../../test/kit/context.js';

// Every resolution guard, one at a time, with the rest at their defaults: a
// merge it refuses (and the reason it records) next to the closest merge it
// allows. A guard that stopped refusing, or started refusing too much, fails here.

let store: SqliteStore;
let ids = 0;
let clock = 0;

beforeEach(() => {
  store = new SqliteStore(':memory:');
  ids = 0;
  clock = Date.parse('2026-01-01T00:00:00Z');
});
afterEach(() => store.close());

type Id = Partial<Identifier> & { type: string; value: string };
const crm = (value: string): Id => ({ type: 'external_id', namespace: 'crm', value });
const email = (value: string): Id => ({ type: 'email', value });
const phone = (value: string): Id => ({ type: 'phone', value });

function rec(recordId: string, identifiers: Id[], traits: Record<string, unknown> = {}): CanonicalRecord {
  return { kind: 'identify', source: 'crm', stream: 'customers', recordId, observedAt: '2026-01-01T00:00:00.000Z', identifiers: identifiers as Identifier[], traits };
}

/** One batch through the resolver and into the real store, as the engine does. */
async function run(records: CanonicalRecord[], rules: Record<string, unknown> = {}) {
  const ctx = {
    logger: captureLogger(),
    rules: resolutionSchema.parse(rules),
    now: () => new Date((clock += 1000)),
    newProfileId: () => `p${String(++ids).padStart(3, '0')}`,
  };
  const result = await new DeterministicResolver().resolve(ctx, records, store);
  await store.commitBatch({ sync: 'crm', records, resolution: result, deadLetters: [], checkpoints: [], destinations: [] });
  return result;
}

async function profileOf(recordId: string): Promise<string> {
  const key = `crm/customers/${recordId}`;
  return (await store.existingRecords([key])).get(key)!.profileId;
}

async function together(a: string, b: string): Promise<boolean> {
  return (await profileOf(a)) === (await profileOf(b));
}

/** Two records that share only `value` (each also has a crm id of its own, in separate batches). */
async function shareOnly(value: Id, rules: Record<string, unknown> = {}, tag = '') {
  // Distinct crm ids would trip the external_id limit: use a namespace without one.
  const own = (n: string): Id => ({ type: 'external_id', namespace: 'shop', value: `${tag}${n}` });
  await run([rec(`${tag}a`, [own('a'), value])], { limits: { 'external_id.shop': 2 }, ...rules });
  const res = await run([rec(`${tag}b`, [own('b'), value])], { limits: { 'external_id.shop': 2 }, ...rules });
  return { res, merged: await together(`${tag}a`, `${tag}b`) };
}

describe('default blocklist: each pattern family refuses its values and allows the near miss', () => {
  const families: Array<[string, Id, Id]> = [
    ['* exact (placeholders in any field)', crm('n/a'), crm('na7')],
    ['* regex (only zeros, dashes, dots)', crm('000-000'), crm('000-001')],
    ['email exact', email('a@a.com'), email('ann@a.com')],
    ['email no-reply sender', email('no-reply@shop.com'), email('nora@shop.com')],
    ['email do-not-reply sender', email('do-not-reply@bank.com'), email('donna@bank.com')],
    ['email placeholder local part', email('dummy@corp.com'), email('dummy.jones@corp.com')],
    ['email placeholder domain (example.*)', email('jane@example.org'), email('jane@example.io')],
    ['email disposable domain (mailinator)', email('jane@mailinator.com'), email('jane@mailinator.com.au')],
    ['phone exact', phone('+15555555555'), phone('+15555555556')],
    ['phone one digit repeated', phone('+447777777777'), phone('+447777777123')],
    ['phone ascending run', phone('+441234567890'), phone('+441234567809')],
  ];
  for (const [family, blocked, nearMiss] of families) {
    it(family, async () => {
      const refused = await shareOnly(blocked, {}, 'x');
      expect(refused.merged).toBe(false);
      expect(refused.res.refused).toEqual([expect.objectContaining({ recordKey: 'crm/customers/xb', profiles: [], reason: expect.stringMatching(/^blocked value/) })]);
      const allowed = await shareOnly(nearMiss, {}, 'y');
      expect(allowed.merged).toBe(true);
      expect(allowed.res.refused).toEqual([]);
    });
  }
});

describe('user-configured blocklist', () => {
  const rules = { blocked: { email: { exact: ['Info@Acme.com'], regex: ['^sales[0-9]*@'] } } };

  it('exact values (case-insensitive) never link; other values of the domain do', async () => {
    expect((await shareOnly(email('info@acme.com'), rules, 'e')).merged).toBe(false);
    expect((await shareOnly(email('ines@acme.com'), rules, 'f')).merged).toBe(true);
  });

  it('regex values never link; a value the pattern does not match does', async () => {
    const refused = await shareOnly(email('sales2@acme.com'), rules, 'r');
    expect(refused.merged).toBe(false);
    expect(refused.res.refused[0].reason).toBe('blocked value "sales2@acme.com" (matches /^sales[0-9]*@/)');
    expect((await shareOnly(email('wholesales@acme.com'), rules, 's')).merged).toBe(true);
  });

  it('is added to the defaults; useDefaultBlocklist: false drops only the built-in list', async () => {
    const own = { ...rules, useDefaultBlocklist: false };
    expect((await shareOnly(email('test@test.com'), own, 'd')).merged).toBe(true);
    expect((await shareOnly(email('info@acme.com'), own, 'u')).merged).toBe(false);
  });
});

describe('limits per identifier type', () => {
  it('email: a third email joins (default limit 3 allows it), a fourth is refused', async () => {
    await run([rec('1', [crm('c1'), email('a1@x.com'), email('a2@x.com')])]);
    const third = await run([rec('2', [crm('c1'), email('a3@x.com')])]);
    expect(third.refused).toEqual([]);
    expect(await together('1', '2')).toBe(true);
    const fourth = await run([rec('3', [crm('c1'), email('a4@x.com')])]);
    expect(fourth.refused).toEqual([expect.objectContaining({ identifierKey: 'email\u0000a4@x.com', reason: 'limit: more than 3 email values in one profile' })]);
    // The record still joins through its crm id; only the extra email is not linked.
    expect(await together('1', '3')).toBe(true);
    expect((await store.profileDocument(await profileOf('1')))!.identifiers.filter((i) => i.type === 'email')).toHaveLength(3);
  });

  it('phone: a configured limit of 1 refuses a second number and allows the same one again', async () => {
    const rules = { limits: { external_id: 1, email: 3, phone: 1 } };
    await run([rec('1', [crm('c1'), phone('+14155550101')])], rules);
    expect((await run([rec('2', [crm('c1'), phone('+14155550101')])], rules)).refused).toEqual([]);
    const second = await run([rec('3', [crm('c1'), phone('+14155550102')])], rules);
    expect(second.refused).toEqual([expect.objectContaining({ identifierKey: 'phone\u0000+14155550102', reason: 'limit: more than 1 phone values in one profile' })]);
  });

  it('external_id counts per namespace: a second crm id is refused, a shop id beside a crm id is allowed', async () => {
    await run([rec('1', [email('ann@x.com'), crm('c1')])]);
    await run([rec('2', [email('ann@x.com'), { type: 'external_id', namespace: 'shop', value: 's1' }])]);
    expect(await together('1', '2')).toBe(true);
    const res = await run([rec('3', [email('ann@x.com'), crm('c2')])]);
    expect(await together('1', '3')).toBe(false);
    expect(res.refused).toEqual([expect.objectContaining({ identifierKey: 'email\u0000ann@x.com', reason: 'limit: more than 1 external_id.crm values in one profile' })]);
  });

  it('caps identifiers per profile: at the cap a record joins, past it the link is refused', async () => {
    const rules = { maxIdentifiersPerProfile: 3 };
    await run([rec('1', [crm('c1'), email('a@x.com')])], rules);
    expect((await run([rec('2', [crm('c1'), phone('+14155550101')])], rules)).refused).toEqual([]);
    const past = await run([rec('3', [crm('c1'), phone('+14155550102')])], rules);
    expect(past.refused).toEqual([expect.objectContaining({ identifierKey: 'phone\u0000+14155550102', reason: 'cap: more than 3 identifiers in one profile' })]);
  });
});

describe('generic threshold', () => {
  /** Profiles c1..cN (each with its own crm id) all present one shared email; the first owns it. */
  async function presentedBy(n: number, rules: Record<string, unknown>) {
    for (let i = 1; i <= n; i++) await run([rec(`c${i}`, [crm(`c${i}`), email('desk@acme.com')])], rules);
  }

  it('a value presented by as many profiles as the threshold still links a new record to its owner', async () => {
    await presentedBy(3, { genericThreshold: 3 });
    const res = await run([rec('t', [email('desk@acme.com')])], { genericThreshold: 3 });
    expect(res.genericValues).toEqual([]);
    expect(await together('t', 'c1')).toBe(true);
  });

  it('one profile more and the value stops linking: the record gets a profile of its own and the refusal says why', async () => {
    await presentedBy(4, { genericThreshold: 3 });
    const res = await run([rec('t', [email('desk@acme.com')])], { genericThreshold: 3 });
    expect(res.genericValues).toEqual([{ identifierKey: 'email\u0000desk@acme.com', profiles: 4 }]);
    expect(res.refused).toEqual([expect.objectContaining({ recordKey: 'crm/customers/t', reason: 'generic: presented by more than 3 profiles' })]);
    for (const c of ['c1', 'c2', 'c3', 'c4']) expect(await together('t', c)).toBe(false);
  });
});

describe('name guard', () => {
  const landline = phone('+33145678901');

  it('refuses a merge through a shared phone when the given names differ', async () => {
    await run([rec('1', [email('marc@x.fr'), landline], { firstName: 'Marc' })]);
    const res = await run([rec('2', [email('julie@x.fr'), landline], { firstName: 'Julie' })]);
    expect(await together('1', '2')).toBe(false);
    expect(res.refused).toEqual([expect.objectContaining({ identifierKey: 'phone\u0000+33145678901', reason: 'name guard: given names "julie" and "marc" differ' })]);
  });

  it('allows it when the names can be one person (a diminutive, an accent, a typo)', async () => {
    await run([rec('1', [email('chris@x.fr'), landline], { firstName: 'Christopher' })]);
    await run([rec('2', [email('cg@x.fr'), landline], { firstName: 'Chris' })]);
    await run([rec('3', [email('c3@x.fr'), landline], { fullName: 'Christophér Gallo' })]);
    expect(await together('1', '2')).toBe(true);
    expect(await together('1', '3')).toBe(true);
  });

  it('guards only the types in `via`: with via [phone], a shared email still merges different names', async () => {
    const rules = { nameGuard: { via: ['phone'] } };
    await run([rec('1', [email('family@x.fr')], { firstName: 'Marc' })], rules);
    await run([rec('2', [email('family@x.fr')], { firstName: 'Julie' })], rules);
    expect(await together('1', '2')).toBe(true);
    await run([rec('3', [landline], { firstName: 'Marc' })], rules);
    expect((await run([rec('4', [landline], { firstName: 'Julie' })], rules)).refused[0].reason).toMatch(/^name guard:/);
  });

  it('compares the profile side and the record side: a nameless record joins, and the guard sees the name of the profile it joined', async () => {
    await run([rec('1', [email('marc@x.fr')], { firstName: 'Marc' })]);
    await run([rec('2', [landline])]);
    // Record 2's profile names nobody: through a household landline it could be any member of
    // the household (issue 11: such records bridged twins), so it does not join Marc's profile.
    const joined = await run([rec('3', [email('marc@x.fr'), landline])]);
    expect(await together('1', '3')).toBe(true);
    expect(await together('1', '2')).toBe(false);
    expect(joined.refused.map((f) => f.reason)).toEqual(['name guard: one side has no given name, so it cannot be told from another member of the household']);
    // Two sides that name nobody have nothing to tell apart: they link as before.
    await run([rec('6', [phone('+33145678903')])]);
    await run([rec('7', [phone('+33145678903')])]);
    expect(await together('6', '7')).toBe(true);
    await run([rec('4', [phone('+33145678902')], { firstName: 'Julie' })]);
    // Record 5 brings Marc's profile (by email) to Julie's phone: the profile's name decides.
    const res = await run([rec('5', [email('marc@x.fr'), phone('+33145678902')])]);
    expect(await together('4', '5')).toBe(false);
    expect(res.refused[0].reason).toBe('name guard: given names "marc" and "julie" differ');
  });
});
