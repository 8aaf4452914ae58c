import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PluginRegistry } from '../../core/plugin/loader.js';
import { ConnectionError } from '../../core/errors.js';
import type { DestinationItem, ProfileDocument, RateGate, WriteResult } from '../../core/plugin/types.js';
import { testContext } from '../../test/kit/context.js';
import { brevoConfigSchema, type BrevoConfig } from './config.js';
import { classifyFailure } from './errors.js';
import { eventBody } from './events.js';
import type { BrevoHttp, BrevoRequest, Exchange } from './http.js';
import { importContacts, planImports, parseReportCsv, type ImportEntry } from './import.js';
import { brevoRef, consentFlags, contactBody, parseRef, type ContactBody } from './mapping.js';

const KEY = 'xkeysib-unit-secret-123456';
const config = (over: Partial<BrevoConfig> = {}): BrevoConfig => ({ ...brevoConfigSchema.parse({ apiKey: KEY, listIds: [7] }), ...over });

function profile(over: Partial<ProfileDocument> = {}): ProfileDocument {
  return {
    id: 'p1',
    identifiers: [
      { type: 'email', value: 'ann@example.com' },
      { type: 'phone', value: '+33612345678' },
    ],
    traits: { firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com' },
    records: [],
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}
const upsert = (p: ProfileDocument, extra: Partial<DestinationItem> = {}): DestinationItem => ({ key: p.id, op: 'upsert', profile: p, ...extra });

const response = (status: number, body?: unknown, headers: Record<string, string> = {}, contentType = 'application/json'): Exchange => ({
  kind: 'response',
  status,
  contentType,
  text: body === undefined ? '' : JSON.stringify(body),
  json: body,
  isJson: contentType.includes('json'),
  headers,
});

function recordingGate(): RateGate & { takes: string[]; pauses: Array<[number, string | undefined]> } {
  const takes: string[] = [];
  const pauses: Array<[number, string | undefined]> = [];
  return { takes, pauses, take: async (b) => void takes.push(b ?? 'default'), pause: (ms, b) => void pauses.push([ms, b]) };
}

describe('contact bodies', () => {
  it('maps the default attributes, the email key, ext_id and lists when there is no payload', () => {
    const body = contactBody(upsert(profile()), config()) as ContactBody;
    expect(body).toMatchObject({ email: 'ann@example.com', ext_id: 'p1', attributes: { FIRSTNAME: 'Ann', LASTNAME: 'Lee', SMS: '+33612345678' }, listIds: [7] });
    expect(body.emailBlacklisted).toBeUndefined();
  });

  it('sends the engine payload as attributes, leaving null values out and refusing objects and lower-case names', () => {
    const b = contactBody(upsert(profile(), { payload: { PLAN: 'pro', AGE: 41, TAGS: ['a'], GONE: null } }), config()) as ContactBody;
    expect(b.attributes).toEqual({ PLAN: 'pro', AGE: 41, TAGS: ['a'] });
    expect(contactBody(upsert(profile(), { payload: { ADDRESS: { city: 'Lyon' } } }), config())).toMatchObject({ reason: expect.stringMatching(/ADDRESS holds an object/) });
    expect(contactBody(upsert(profile(), { payload: { plan: 'x' } }), config())).toMatchObject({ reason: expect.stringMatching(/upper-case/) });
    expect(contactBody(upsert(profile(), { payload: { SMS: '0612345678' } }), config())).toMatchObject({ reason: expect.stringMatching(/E\.164/) });
  });

  it('keys by ext_id (the profile id) or by SMS when configured', () => {
    expect(contactBody(upsert(profile()), config({ identifier: 'ext_id' }))).toMatchObject({ ext_id: 'p1', key: { kind: 'ext_id', value: 'p1' } });
    const sms = contactBody(upsert(profile()), config({ identifier: 'sms' })) as ContactBody;
    expect(sms.email).toBeUndefined();
    expect(sms).toMatchObject({ key: { kind: 'sms', value: '+33612345678' }, attributes: { SMS: '+33612345678' } });
    expect(contactBody(upsert(profile({ identifiers: [], traits: {} })), config())).toMatchObject({ reason: expect.stringMatching(/no email/) });
  });

  it('turns consent into blocklist flags: false blocklists, true unblocks, absent leaves the field out', () => {
    expect(consentFlags(profile({ traits: { consent: { email_marketing: false, sms_marketing: true } } }))).toEqual({ emailBlacklisted: true, smsBlacklisted: false });
    expect(consentFlags(profile({ traits: { consent: {} } }))).toEqual({});
    expect(consentFlags(profile())).toEqual({});
    // Purposes as the sources name them.
    expect(consentFlags(profile({ traits: { consent: { marketing: false, email_marketing: true } } }), { email: 'marketing', sms: 'sms' })).toEqual({ emailBlacklisted: true });
  });
});

describe('ref', () => {
  it('names the contact by the configured identifier, and a delete by its previous ref', () => {
    expect(brevoRef(upsert(profile()), config())).toBe('email:ann@example.com');
    expect(brevoRef(upsert(profile()), config({ identifier: 'ext_id' }))).toBe('ext_id:p1');
    expect(brevoRef(upsert(profile()), config({ identifier: 'sms' }))).toBe('sms:+33612345678');
    expect(brevoRef({ key: 'p2', op: 'delete', previous: { ref: 'email:old@example.com' }, reason: 'merged' }, config())).toBe('email:old@example.com');
    expect(parseRef('sms:+33612345678')).toEqual({ kind: 'sms', value: '+33612345678' });
    expect(parseRef('p1')).toBeUndefined();
  });
});

describe('error classification', () => {
  const what = 'upsert of p1';
  it('makes duplicate/invalid/missing_parameter permanent, 425 and 5xx retryable, HTML a retryable reason naming the content type', () => {
    const ctx = testContext(config());
    for (const code of ['duplicate_parameter', 'invalid_parameter', 'missing_parameter']) {
      expect(classifyFailure(response(400, { code, message: 'm' }), ctx, 'contacts', what)).toEqual({ status: 'permanent', reason: `${what}: Brevo answered 400 ${code}: m` });
    }
    expect(classifyFailure(response(425, { code: 'too_early' }), ctx, 'contacts', what).status).toBe('retryable');
    expect(classifyFailure(response(503, { code: 'x' }), ctx, 'contacts', what).status).toBe('retryable');
    const html = classifyFailure(response(502, '<html>', {}, 'text/html'), ctx, 'contacts', what);
    expect(html).toEqual({ status: 'retryable', reason: `${what}: Brevo answered 502 with text/html instead of JSON` });
    expect(classifyFailure({ kind: 'transport', code: 'ECONNRESET', reason: 'connection failed (ECONNRESET): socket hang up' }, ctx, 'contacts', what).status).toBe('retryable');
  });

  it('pauses the budget and returns retryAfterMs from x-sib-ratelimit-reset on 429', () => {
    const gate = recordingGate();
    const ctx = { ...testContext(config()), rate: gate };
    expect(classifyFailure(response(429, { code: 'too_many_requests' }, { 'x-sib-ratelimit-reset': '7' }), ctx, 'events', what)).toMatchObject({ status: 'retryable', retryAfterMs: 7000 });
    expect(gate.pauses).toEqual([[7000, 'events']]);
  });

  it('throws a non-retryable ConnectionError for 401, in one line without the key', () => {
    const ctx = testContext(config());
    let thrown: unknown;
    try {
      classifyFailure(response(401, { code: 'unauthorized', message: `Key not found ${KEY}` }), ctx, 'contacts', what);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ConnectionError);
    expect((thrown as ConnectionError).retryable).toBe(false);
    expect((thrown as Error).message).not.toContain(KEY);
    expect((thrown as Error).message).not.toContain('\n');
    expect((thrown as Error).message).toMatch(/rejected the API key/);
  });
});

describe('events', () => {
  const ev = (name: string, properties: Record<string, unknown> = {}): DestinationItem => ({
    key: 'crm/orders/1',
    op: 'track',
    profile: profile(),
    event: { name, properties, occurredAt: '2026-02-01T10:00:00.000Z', revenue: 12.5, currency: 'EUR', source: 'crm', stream: 'orders', recordId: '1' },
  });
  it('builds the documented body with identifiers, event_date and revenue in the properties', () => {
    expect(eventBody(ev('order_completed', { sku: 'A' }), config())).toEqual({
      body: { event_name: 'order_completed', event_date: '2026-02-01T10:00:00.000Z', identifiers: { email_id: 'ann@example.com', ext_id: 'p1' }, event_properties: { sku: 'A', revenue: 12.5, currency: 'EUR' } },
    });
  });
  it('refuses names Brevo refuses and properties over 50 KB, with the reason', () => {
    expect(eventBody(ev('Order Completed'), config())).toMatchObject({ reason: expect.stringMatching(/not a Brevo event name/) });
    expect(eventBody(ev('x'.repeat(256)), config())).toMatchObject({ reason: expect.stringMatching(/not a Brevo event name/) });
    expect(eventBody(ev('big', { blob: 'x'.repeat(51 * 1024) }), config())).toMatchObject({ reason: expect.stringMatching(/at most 51200/) });
  });
});

describe('import planning and reports', () => {
  const entry = (i: number, over: Partial<ContactBody> = {}): ImportEntry => ({ index: i, body: { key: { kind: 'email', value: `u${i}@example.com` }, email: `u${i}@example.com`, attributes: { LASTNAME: 'x'.repeat(100) }, ...over } });

  it('splits by blocklist setting and keeps every jsonBody under the byte limit', () => {
    const entries = [...Array.from({ length: 30 }, (_, i) => entry(i)), entry(30, { emailBlacklisted: true })];
    const plans = planImports(entries, 1000);
    expect(plans.filter((p) => p.emailBlacklist).map((p) => p.entries.map((e) => e.index))).toEqual([[30]]);
    for (const p of plans) expect(Buffer.byteLength(JSON.stringify(p.json))).toBeLessThanOrEqual(1000);
    expect(plans.flatMap((p) => p.entries.map((e) => e.index)).sort((a, b) => a - b)).toEqual(entries.map((e) => e.index));
  });

  it('reads ; or , separated report CSVs', () => {
    expect(parseReportCsv('EMAIL;EXT_ID\n"a@b.co";p1\n')).toEqual([{ EMAIL: 'a@b.co', EXT_ID: 'p1' }]);
    expect(parseReportCsv('email,sms\nx@y.co,33612345678\n')).toEqual([{ EMAIL: 'x@y.co', SMS: '33612345678' }]);
  });

  it('reports an import not completed by the deadline as retryable for all its contacts, polling no faster than the interval', async () => {
    const sent: BrevoRequest[] = [];
    const http: BrevoHttp = {
      config: config(),
      async send(req) {
        sent.push(req);
        return req.method === 'POST' ? response(202, { processId: 5 }) : response(200, { id: 5, name: 'IMPORTUSER', status: 'in_process' });
      },
    };
    let clock = 0;
    const slept: number[] = [];
    const results: WriteResult[] = [{ status: 'ok' }, { status: 'ok' }];
    const ctx = testContext(config({ importPollIntervalMs: 1000, importTimeoutMs: 5000 }));
    await importContacts(http, ctx, [entry(0), entry(1)], results, { sleep: async (ms) => void (slept.push(ms), (clock += ms)), now: () => clock });
    expect(results.map((r) => r.status)).toEqual(['retryable', 'retryable']);
    expect((results[0] as { reason: string }).reason).toMatch(/import process 5 not completed within 5000 ms \(last status in_process\)/);
    expect(slept.every((ms) => ms === 1000)).toBe(true);
    expect(sent.filter((r) => r.path === '/processes/5')).toHaveLength(5);
    expect(sent.every((r) => r.budget === (r.method === 'POST' ? 'contacts' : 'processes'))).toBe(true);
  });
});

describe('plugin definition', () => {
  it('loads as a built-in plugin with the brevo destination, its secret, budgets and mapping rule', async () => {
    const reg = new PluginRegistry();
    await reg.loadFile(fileURLToPath(new URL('./index.ts', import.meta.url)));
    expect(reg.broken).toEqual([]);
    const d = reg.destination('brevo');
    expect(d.spec.secrets).toEqual(['apiKey']);
    expect(d.capabilities).toEqual({ delete: true, events: true, withdraw: 'mark' });
    expect(Object.keys(d.budgets ?? {}).sort()).toEqual(['contacts', 'events', 'processes']);
    expect(d.mapping?.names?.test('FIRSTNAME')).toBe(true);
    expect(d.mapping?.names?.test('firstName')).toBe(false);
  });

  it('config: one schema gives the JSON Schema (apiKey required, the rest defaulted) and names the path of a bad value', () => {
    const js = z.toJSONSchema(brevoConfigSchema, { io: 'input', unrepresentable: 'any' }) as { required?: string[]; properties: Record<string, unknown> };
    expect(js.required).toEqual(['apiKey']);
    expect(Object.keys(js.properties)).toContain('importThreshold');
    const bad = brevoConfigSchema.safeParse({ apiKey: 'k', importThreshold: 1, extra: true });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path.join('.') || i.code).sort()).toEqual(['importThreshold', 'unrecognized_keys']);
    expect(brevoConfigSchema.parse({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9/v3/' }).baseUrl).toBe('http://127.0.0.1:9/v3');
  });
});
