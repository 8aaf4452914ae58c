import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../core/errors.js';
import type { DestinationItem, ProfileDocument, RateGate, WriteResult } from '../../core/plugin/types.js';
import { destinationConnectorKit, sampleProfiles } from '../../test/kit/destination-kit.js';
import { testContext } from '../../test/kit/context.js';
import { startBrevoServer, type BrevoServer, type BrevoServerOptions } from './__fixtures__/brevo-server.js';
import { brevoConfigSchema, type BrevoConfig } from './config.js';
import { brevoDestination } from './destination.js';

// The kit's server is started at load time: its bad-config cases need a live URL.
const kitServer = await startBrevoServer({ rateLimit: false });

destinationConnectorKit({
  connector: brevoDestination,
  setup: async () => ({ apiKey: kitServer.apiKey, baseUrl: kitServer.url, listIds: [1] }),
  teardown: () => kitServer.close(),
  readBack: async () => new Map(kitServer.contacts().flatMap((c) => (c.ext_id ? [[c.ext_id, c] as const] : []))),
  failRetryable: async () => kitServer.failNext('500'),
  permanentItem: { key: 'bad', op: 'upsert', profile: { ...sampleProfiles(1, 'bad')[0], identifiers: [{ type: 'email', value: 'not-an-email' }] } },
  badConfigs: [
    { name: 'no apiKey', config: { baseUrl: kitServer.url }, message: /apiKey/ },
    { name: 'baseUrl not a URL', config: { apiKey: 'k', baseUrl: 'api.brevo.com' }, message: /baseUrl: expected an http\(s\) URL/ },
    { name: 'unknown identifier', config: { apiKey: 'k', identifier: 'phone' }, message: /identifier/ },
    { name: 'list id not a number', config: { apiKey: 'k', listIds: ['news'] }, message: /listIds/ },
    { name: 'unreachable baseUrl', config: { apiKey: 'k', baseUrl: 'http://127.0.0.1:9/v3' }, message: /^GET http:\/\/127\.0\.0\.1:9\/v3\/account: connection failed \(ECONNREFUSED\)/ },
    { name: 'rejected api key', config: { apiKey: 'xkeysib-not-the-key', baseUrl: kitServer.url }, message: /^Brevo rejected the API key \(GET .*401 unauthorized.*\); check apiKey$/ },
  ],
});

let brevo: BrevoServer | undefined;
afterEach(async () => {
  await brevo?.close();
  brevo = undefined;
});

async function server(opts: BrevoServerOptions = {}): Promise<BrevoServer> {
  brevo = await startBrevoServer({ rateLimit: false, attributes: ['PLAN'], ...opts });
  return brevo;
}

function cfg(s: BrevoServer, over: Record<string, unknown> = {}): BrevoConfig {
  return brevoConfigSchema.parse({ apiKey: s.apiKey, baseUrl: s.url, listIds: [1], importThreshold: 5, importPollIntervalMs: 20, timeoutMs: 2000, concurrency: 2, ...over });
}

function countingGate(): RateGate & { takes: string[]; pauses: Array<[number, string | undefined]> } {
  const takes: string[] = [];
  const pauses: Array<[number, string | undefined]> = [];
  return { takes, pauses, take: async (b) => void takes.push(b ?? 'default'), pause: (ms, b) => void pauses.push([ms, b]) };
}

function person(id: string, email: string, traits: Record<string, unknown> = {}): ProfileDocument {
  return { id, identifiers: [{ type: 'email', value: email }], traits: { firstName: `F-${id}`, email, ...traits }, records: [], createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' };
}
const up = (p: ProfileDocument, extra: Partial<DestinationItem> = {}): DestinationItem => ({ key: p.id, op: 'upsert', profile: p, ...extra });
const write = (c: BrevoConfig, items: DestinationItem[], rate?: RateGate) => brevoDestination.write({ ...testContext(c), ...(rate ? { rate } : {}) }, items);
const reasonOf = (r: WriteResult) => (r.status === 'ok' ? '' : r.reason);

describe('brevo destination against the contract server', () => {
  it('single path: creates (201) then updates (204) with attributes, lists and consent', async () => {
    const s = await server();
    const c = cfg(s);
    expect(await write(c, [up(person('p1', 'ann@example.com', { consent: { email_marketing: false } }), { payload: { FIRSTNAME: 'Ann', PLAN: 'free' } })])).toEqual([{ status: 'ok' }]);
    expect(await write(c, [up(person('p1', 'ann@example.com', { consent: { email_marketing: true } }), { payload: { FIRSTNAME: 'Ann', PLAN: 'pro' } })])).toEqual([{ status: 'ok' }]);
    expect(s.requests.filter((r) => r.path === '/v3/contacts').map((r) => r.status)).toEqual([201, 204]);
    expect(s.contactByEmail('ann@example.com')).toMatchObject({ ext_id: 'p1', attributes: { FIRSTNAME: 'Ann', PLAN: 'pro' }, listIds: [1], emailBlacklisted: false });
  });

  it('an attribute the account does not declare is a permanent error with Brevo\'s reason', async () => {
    const s = await server();
    const [r] = await write(cfg(s), [up(person('p1', 'a@example.com'), { payload: { COLOR: 'red' } })]);
    expect(r).toEqual({ status: 'permanent', reason: 'upsert of p1 (email): Brevo answered 400 invalid_parameter: Attribute COLOR does not exist' });
  });

  it('import path: a large batch goes through /contacts/import, polls the process, and turns report rows into permanent results', async () => {
    const s = await server({ importDelayMs: 60 });
    const people = Array.from({ length: 6 }, (_, i) => person(`p${i}`, `imp${i}@example.com`));
    people[3] = person('p3', 'broken-address');
    people[4] = person('p4', 'nolist@example.com', { consent: { email_marketing: false } });
    people[5] = person('p5', 'yes@example.com', { consent: { email_marketing: true } });
    const results = await write(cfg(s), people.map((p) => up(p)));
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'permanent', 'ok', 'ok']);
    expect(reasonOf(results[3])).toMatch(/^Brevo import 1 did not take this contact \(invalid_emails\)$/);
    expect(s.contactByEmail('imp0@example.com')).toMatchObject({ ext_id: 'p0', attributes: { FIRSTNAME: 'F-p0' }, listIds: [1] });
    expect(s.contactByEmail('nolist@example.com')?.emailBlacklisted).toBe(true);
    // Consent true must lift a blocklist, which an import cannot: that one went contact by contact.
    expect(s.requests.filter((r) => r.method === 'POST').map((r) => r.path).sort()).toEqual(['/v3/contacts', '/v3/contacts/import', '/v3/contacts/import']);
    expect(s.requests.some((r) => r.path.startsWith('/v3/processes/'))).toBe(true);
    expect(s.contactByEmail('yes@example.com')?.emailBlacklisted).toBe(false);
  });

  it('ext_id and sms identifiers: import by EXT_ID, single upserts by SMS, events and deletes by ext_id / phone_id', async () => {
    const s = await server({ importDelayMs: 20 });
    const byExt = cfg(s, { identifier: 'ext_id' });
    const people = Array.from({ length: 5 }, (_, i) => ({ ...person(`x${i}`, `x${i}@example.com`), identifiers: [] }));
    expect((await write(byExt, people.map((p) => up(p)))).every((r) => r.status === 'ok')).toBe(true);
    expect(s.requests.some((r) => r.path === '/v3/contacts/import')).toBe(true);
    expect(s.contactByExtId('x3')).toMatchObject({ attributes: { FIRSTNAME: 'F-x3' }, listIds: [1] });
    expect(s.contactByExtId('x3')?.email).toBeUndefined();
    const bySms = cfg(s, { identifier: 'sms' });
    const phone = (id: string, n: string): ProfileDocument => ({ ...person(id, `${id}@example.com`), identifiers: [{ type: 'phone', value: n }] });
    const track: DestinationItem = { key: 'crm/o/9', op: 'track', profile: phone('s1', '+33611111111'), event: { name: 'sms_optin', properties: {}, occurredAt: '2026-03-01T08:00:00.000Z', source: 'crm', stream: 'o', recordId: '9' } };
    expect(await write(bySms, [up(phone('s1', '+33611111111')), up(phone('s2', '+33622222222')), track])).toEqual([{ status: 'ok' }, { status: 'ok' }, { status: 'ok' }]);
    expect(s.contactBySms('+33611111111')).toMatchObject({ ext_id: 's1', attributes: { SMS: '+33611111111' } });
    expect(s.events[0].identifiers).toEqual({ phone_id: '+33611111111', ext_id: 's1' });
    const dels: DestinationItem[] = [
      { key: 's1', op: 'delete', previous: { ref: brevoDestination.ref!(up(phone('s1', '+33611111111')), bySms) }, reason: 'deleted' },
      { key: 'x3', op: 'delete', previous: { ref: brevoDestination.ref!(up(people[3]), byExt) }, reason: 'deleted' },
    ];
    expect(await write(bySms, dels)).toEqual([{ status: 'ok' }, { status: 'ok' }]);
    expect(s.contactBySms('+33611111111')).toBeUndefined();
    expect(s.contactByExtId('x3')).toBeUndefined();
    expect(s.contacts()).toHaveLength(5);
  });

  it('import path: a process not completed in importTimeoutMs is retryable for its contacts', async () => {
    const s = await server({ importDelayMs: 60_000 });
    const results = await write(cfg(s, { importTimeoutMs: 200, importPollIntervalMs: 50 }), Array.from({ length: 5 }, (_, i) => up(person(`p${i}`, `slow${i}@example.com`))));
    expect(results.every((r) => r.status === 'retryable' && /import process 1 not completed within 200 ms/.test(r.reason))).toBe(true);
  });

  it('deletes: 204 removes, 404 counts as done, 405 is permanent; a blocklisted contact is kept for merges but not for erasure', async () => {
    const s = await server();
    s.state.seed({ email: 'gone@example.com', ext_id: 'p1' });
    s.state.seed({ email: 'locked@example.com' });
    s.state.seed({ email: 'blocked@example.com', emailBlacklisted: true });
    s.state.seed({ email: 'erase@example.com', emailBlacklisted: true });
    s.refuseDelete('email_id', 'locked@example.com');
    const del = (key: string, ref: string, reason: 'merged' | 'deleted' | 'unmatched'): DestinationItem => ({ key, op: 'delete', previous: { ref }, reason });
    const results = await write(cfg(s), [del('p1', 'ext_id:p1', 'merged'), del('p2', 'email:never@example.com', 'unmatched'), del('p3', 'email:locked@example.com', 'deleted'), del('p4', 'email:blocked@example.com', 'merged'), del('p5', 'email:erase@example.com', 'deleted')]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'permanent', 'ok', 'ok']);
    expect(reasonOf(results[2])).toMatch(/405 method_not_allowed/);
    expect(s.contacts().map((c) => c.email).sort()).toEqual(['blocked@example.com', 'locked@example.com']);
  });

  it('failure reasons (logged, and kept after forget) name a contact by a hash of its address, never the address', async () => {
    const s = await server();
    s.state.seed({ email: 'erase@example.com' });
    s.state.seed({ email: 'optout@example.com' });
    const hash = (v: string) => createHash('sha256').update(v).digest('hex').slice(0, 12);
    s.failNext('500', { count: 2 });
    const [erase, withdraw, malformed] = await write(cfg(s, { concurrency: 1 }), [
      { key: 'p1', op: 'delete', previous: { ref: 'email:erase@example.com' }, reason: 'deleted', erase: true },
      { key: 'p2', op: 'withdraw', previous: { ref: 'email:optout@example.com' }, purpose: 'email_marketing' },
      { key: 'p3', op: 'delete', previous: { ref: 'mail=someone@example.com' }, reason: 'deleted' },
    ]);
    expect(reasonOf(erase)).toBe(`delete of p1 (email sha256:${hash('erase@example.com')}): Brevo answered 500 internal_error: Internal server error`);
    expect(reasonOf(withdraw)).toMatch(new RegExp(`^withdrawal of p2 \\(email sha256:${hash('optout@example.com')}\\): Brevo answered 500`));
    expect(reasonOf(malformed)).toBe('delete of p3: previous ref of 24 characters names no Brevo contact (expected email:, ext_id: or sms:)');
    expect([erase, withdraw, malformed].map(reasonOf).join(' ')).not.toMatch(/example\.com/);
  });

  it('events: POST /events with identifiers and event_date; a name Brevo refuses is permanent and never sent', async () => {
    const s = await server();
    const p = person('p1', 'ev@example.com');
    const track = (name: string): DestinationItem => ({ key: `crm/orders/${name}`, op: 'track', profile: p, event: { name, properties: { sku: 'A' }, occurredAt: '2026-03-01T08:00:00.000Z', source: 'crm', stream: 'orders', recordId: name } });
    const results = await write(cfg(s), [track('order_completed'), track('order completed')]);
    expect(results.map((r) => r.status)).toEqual(['ok', 'permanent']);
    expect(s.events).toEqual([{ event_name: 'order_completed', event_date: '2026-03-01T08:00:00.000Z', identifiers: { email_id: 'ev@example.com', ext_id: 'p1' }, event_properties: { sku: 'A' } }]);
  });

  it('events keep their order per contact: after a failed event, the same contact\'s later events wait unsent', async () => {
    const s = await server();
    const ann = person('p1', 'ann@example.com');
    const bob = person('p2', 'bob@example.com');
    const track = (p: ProfileDocument, n: number): DestinationItem => ({ key: `crm/o/${n}`, op: 'track', profile: p, event: { name: `step_${n}`, properties: {}, occurredAt: '2026-03-01T08:00:00.000Z', source: 'crm', stream: 'o', recordId: String(n) } });
    s.failNext('500', { path: /^\/v3\/events$/ });
    const results = await write(cfg(s), [track(ann, 1), track(bob, 2), track(ann, 3)]);
    expect(results.map((r) => r.status)).toEqual(['retryable', 'ok', 'retryable']);
    expect(reasonOf(results[2])).toBe('event crm/o/3 not sent: the earlier event crm/o/1 of the same contact failed in this batch');
    expect(s.events.map((e) => e.event_name)).toEqual(['step_2']);
  });

  it('401: write throws a non-retryable ConnectionError in one line without the key; check says so too', async () => {
    const s = await server();
    const c = cfg(s, { apiKey: 'xkeysib-wrong-secret-value' });
    const err = await write(c, [up(person('p1', 'a@example.com'))]).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/^Brevo rejected the API key of destination test \(.*401 unauthorized: Key not found\); check apiKey$/);
    expect((err as Error).message).not.toContain('xkeysib-wrong-secret-value');
    expect((err as ConnectionError).describe()).toBe((err as Error).message);
    const chk = await brevoDestination.check(testContext(c));
    expect(chk.ok).toBe(false);
    expect(chk.message).not.toContain('xkeysib-wrong-secret-value');
  });

  it('429 from the limiter: retryable with retryAfterMs from x-sib-ratelimit-reset, and the budget paused', async () => {
    const s = await server({ rateLimit: { perSecond: 2 } });
    const gate = countingGate();
    const results = await write(cfg(s, { concurrency: 1 }), Array.from({ length: 4 }, (_, i) => up(person(`p${i}`, `rl${i}@example.com`))), gate);
    const limited = results.filter((r) => r.status === 'retryable');
    expect(limited.length).toBeGreaterThan(0);
    expect(s.count429()).toBe(limited.length);
    for (const r of limited) expect(r).toMatchObject({ retryAfterMs: 1000, reason: expect.stringMatching(/429 too_many_requests/) });
    expect(gate.pauses).toEqual(limited.map(() => [1000, 'contacts']));
  });

  it('an HTML answer, a dropped connection and a hang are retryable with clear reasons', async () => {
    const s = await server();
    const c = cfg(s, { timeoutMs: 300, concurrency: 1 });
    s.failNext('html');
    // Twice: a reset on a reused keep-alive socket is sent once more at once (the request never reached the server).
    s.failNext('drop', { count: 2 });
    s.failNext('hang');
    const results = await write(c, [up(person('p1', 'h1@example.com')), up(person('p2', 'h2@example.com')), up(person('p3', 'h3@example.com'))]);
    expect(results.map((r) => r.status)).toEqual(['retryable', 'retryable', 'retryable']);
    expect(reasonOf(results[0])).toBe('upsert of p1 (email): Brevo answered 502 with text/html instead of JSON');
    expect(reasonOf(results[1])).toMatch(/connection failed \((ECONNRESET|EPIPE|ERR_BAD_RESPONSE)\)/);
    expect(reasonOf(results[2])).toMatch(/no answer within 300 ms/);
    expect(await write(c, [up(person('p1', 'h1@example.com'))])).toEqual([{ status: 'ok' }]);
  });

  it('every request takes a token from its budget first', async () => {
    const s = await server({ importDelayMs: 30 });
    s.state.seed({ email: 'old@example.com', ext_id: 'k1' });
    s.state.seed({ email: 'del@example.com' });
    const gate = countingGate();
    const items: DestinationItem[] = [
      { key: 'd1', op: 'delete', previous: { ref: 'email:del@example.com' }, reason: 'merged' },
      ...Array.from({ length: 5 }, (_, i) => up(person(`b${i}`, i === 0 ? 'bad-email' : `bulk${i}@example.com`))),
      up(person('k1', 'new@example.com'), { previous: { ref: 'email:old@example.com' } }),
      { key: 'crm/o/1', op: 'track', profile: person('b1', 'bulk1@example.com'), event: { name: 'signup', properties: {}, occurredAt: '2026-03-01T08:00:00.000Z', source: 'crm', stream: 'o', recordId: '1' } },
    ];
    const results = await write(cfg(s), items, gate);
    expect(results.map((r) => r.status)).toEqual(['ok', 'permanent', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    const budgetOf = (p: string) => (p.startsWith('/v3/contacts') ? 'contacts' : p.startsWith('/v3/events') ? 'events' : p.startsWith('/v3/processes') ? 'processes' : 'reports');
    const byBudget = (list: string[]) => Object.fromEntries([...new Set(list)].sort().map((b) => [b, list.filter((x) => x === b).length]));
    expect(byBudget(gate.takes)).toEqual(byBudget(s.requests.map((r) => budgetOf(r.path))));
    expect(gate.takes.length).toBe(s.requests.length);
    expect(new Set(gate.takes)).toEqual(new Set(['contacts', 'events', 'processes', 'reports']));
  });

  describe('email change of a blocklisted contact', () => {
    it('moves the contact to the new address and keeps it blocklisted when the profile states no consent', async () => {
      const s = await server();
      s.state.seed({ email: 'old@example.com', ext_id: 'p1', emailBlacklisted: true, listIds: [2] });
      const [r] = await write(cfg(s), [up(person('p1', 'new@example.com'), { previous: { ref: 'email:old@example.com' } })]);
      expect(r).toEqual({ status: 'ok' });
      expect(s.contactByEmail('old@example.com')).toBeUndefined();
      expect(s.contactByEmail('new@example.com')).toMatchObject({ ext_id: 'p1', emailBlacklisted: true, listIds: [2, 1] });
      expect(s.contacts()).toHaveLength(1);
    });

    it('follows the profile\'s consent when it states one', async () => {
      const s = await server();
      s.state.seed({ email: 'old@example.com', ext_id: 'p1', emailBlacklisted: true });
      await write(cfg(s), [up(person('p1', 'new@example.com', { consent: { email_marketing: true } }), { previous: { ref: 'email:old@example.com' } })]);
      expect(s.contactByEmail('new@example.com')?.emailBlacklisted).toBe(false);
    });

    it('when the new address is already a contact: updates it, carries the blocklist over and keeps the old blocklisted contact', async () => {
      const s = await server();
      s.state.seed({ email: 'old@example.com', ext_id: 'p1', emailBlacklisted: true });
      s.state.seed({ email: 'new@example.com' });
      const [r] = await write(cfg(s), [up(person('p1', 'new@example.com'), { previous: { ref: 'email:old@example.com' } })]);
      expect(r).toEqual({ status: 'ok' });
      expect(s.contactByEmail('new@example.com')).toMatchObject({ emailBlacklisted: true, attributes: { FIRSTNAME: 'F-p1' } });
      expect(s.contactByEmail('old@example.com')?.emailBlacklisted).toBe(true);
    });

    it('when the new address is already a contact and the old one is not blocklisted: deletes the old one', async () => {
      const s = await server();
      s.state.seed({ email: 'old@example.com', ext_id: 'p1' });
      s.state.seed({ email: 'new@example.com' });
      await write(cfg(s), [up(person('p1', 'new@example.com'), { previous: { ref: 'email:old@example.com' } })]);
      expect(s.contacts().map((c) => [c.email, c.ext_id])).toEqual([['new@example.com', 'p1']]);
    });
  });

  it('under seeded random faults, retrying what is retryable ends with every contact delivered once', async () => {
    const s = await server({ faults: { seed: 7, rate: 0.3, kinds: ['429', '500', 'html', 'drop'] } });
    const c = cfg(s, { timeoutMs: 1000 });
    const people = Array.from({ length: 12 }, (_, i) => person(`f${i}`, `fault${i}@example.com`));
    let pending = people.map((p) => up(p));
    for (let round = 0; round < 30 && pending.length; round++) {
      const results = await write(c, pending);
      expect(results.some((r) => r.status === 'permanent')).toBe(false);
      pending = pending.filter((_, i) => results[i].status === 'retryable');
    }
    expect(pending).toEqual([]);
    expect(s.contacts().map((x) => x.ext_id).sort()).toEqual(people.map((p) => p.id).sort());
    expect(s.requests.some((r) => r.fault)).toBe(true);
  });
});
