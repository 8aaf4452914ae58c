import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import type { DestinationItem } from '../../core/plugin/types.js';
import { sampleProfiles } from '../../test/kit/destination-kit.js';
import { buildBody, prepareItem, type WireItem } from './body.js';
import { classify, DEFAULT_THROTTLE_MS, MAX_RETRY_AFTER_MS, parseRetryAfter } from './classify.js';
import { decodeSecret, webhookConfigSchema } from './config.js';
import plugin from './index.js';
import { signV1, webhookId } from './sign.js';

const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

function keyOf(secret: string): Buffer {
  const key = decodeSecret(secret);
  if (typeof key === 'string') throw new Error(key);
  return key;
}

describe('Standard Webhooks signature', () => {
  it('signs the published test vector to the published signature', () => {
    expect(signV1({ key: keyOf(VECTOR.secret), id: VECTOR.id, timestamp: VECTOR.timestamp, body: VECTOR.body })).toBe(VECTOR.signature);
  });

  it('signs bytes and strings alike, and a changed body changes the signature', () => {
    const key = keyOf(VECTOR.secret);
    expect(signV1({ key, id: VECTOR.id, timestamp: VECTOR.timestamp, body: Buffer.from(VECTOR.body) })).toBe(VECTOR.signature);
    expect(signV1({ key, id: VECTOR.id, timestamp: VECTOR.timestamp, body: '{"test":2432232314}' })).not.toBe(VECTOR.signature);
    expect(signV1({ key, id: VECTOR.id, timestamp: VECTOR.timestamp + 1, body: VECTOR.body })).not.toBe(VECTOR.signature);
  });

  it('is accepted by the official standardwebhooks library for a fresh timestamp and non-ASCII body', () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const ts = Math.floor(Date.now() / 1000);
    const body = '{"name":"Zoë 日本","n":1}';
    const sig = signV1({ key: keyOf(secret), id: 'msg_abc', timestamp: ts, body });
    const verified = new Webhook(secret).verify(body, { 'webhook-id': 'msg_abc', 'webhook-timestamp': String(ts), 'webhook-signature': sig });
    expect(verified).toEqual({ name: 'Zoë 日本', n: 1 });
  });
});

describe('webhook-id', () => {
  const items = (): WireItem[] =>
    sampleProfiles(3).map((p) => ({ type: 'profile.upserted', key: p.id, profileId: p.id, data: { email: p.traits.email, first: p.traits.firstName } }));

  it('is the same for the same batch, whatever the key order of the objects', () => {
    const a = items();
    const b = items().map((w) => {
      const data = w.type === 'profile.upserted' ? w.data : {};
      return { data: Object.fromEntries(Object.entries(data).reverse()), profileId: w.profileId, key: w.key, type: w.type } as WireItem;
    });
    expect(webhookId('hook', a)).toBe(webhookId('hook', b));
    expect(webhookId('hook', a)).toMatch(/^msg_[A-Za-z0-9_-]{32}$/);
  });

  it('changes with the content, the order, the op and the destination', () => {
    const base = webhookId('hook', items());
    const changed = items();
    (changed[1] as Extract<WireItem, { type: 'profile.upserted' }>).data.first = 'Other';
    expect(webhookId('hook', changed)).not.toBe(base);
    expect(webhookId('hook', items().reverse())).not.toBe(base);
    expect(webhookId('hook', items().slice(0, 2))).not.toBe(base);
    const asDelete = items();
    asDelete[0] = { type: 'profile.deleted', key: 'p0', profileId: 'p0', ref: 'p0', reason: 'deleted' };
    expect(webhookId('hook', asDelete)).not.toBe(base);
    expect(webhookId('other-hook', items())).not.toBe(base);
  });
});

describe('status classification', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  const kind = (status: number, extra: { retryAfter?: string; snippet?: string; location?: string } = {}) => classify({ status, ...extra }, now);

  it('2xx is success whatever the answer says', () => {
    for (const s of [200, 201, 202, 204, 299]) expect(kind(s, { snippet: '<html>thanks</html>' })).toEqual({ kind: 'ok' });
  });

  it('410 disables the endpoint, 401/403 stop the run, 301/308 stop with the new location without its query', () => {
    expect(kind(410).kind).toBe('gone');
    expect(kind(401).kind).toBe('stop');
    expect(kind(403).kind).toBe('stop');
    const moved = kind(308, { location: 'https://new.example.com/hooks?token=abc123' });
    expect(moved.kind).toBe('stop');
    expect((moved as { reason: string }).reason).toContain('https://new.example.com/hooks');
    expect((moved as { reason: string }).reason).not.toContain('abc123');
  });

  it('429/502/504 throttle: retryable, and pause for Retry-After or the default', () => {
    expect(kind(429, { retryAfter: '7' })).toMatchObject({ kind: 'retryable', retryAfterMs: 7000, pauseMs: 7000 });
    expect(kind(502)).toMatchObject({ kind: 'retryable', retryAfterMs: DEFAULT_THROTTLE_MS, pauseMs: DEFAULT_THROTTLE_MS });
    expect(kind(504, { retryAfter: 'Tue, 01 Dec 2026 10:00:30 GMT' })).toMatchObject({ kind: 'retryable', retryAfterMs: 30_000, pauseMs: 30_000 });
  });

  it('400/413/422 are permanent with the status and a snippet of the answer', () => {
    const r = kind(400, { snippet: 'field email is required' });
    expect(r).toEqual({ kind: 'permanent', reason: 'receiver refused the batch with 400: field email is required' });
    expect(kind(422).kind).toBe('permanent');
    expect((kind(413) as { reason: string }).reason).toMatch(/batchSize or maxBatchBytes/);
  });

  it('every other failure is retryable; a Retry-After on it is honoured', () => {
    for (const s of [302, 307, 404, 405, 408, 409, 500, 501, 503, 599]) {
      const r = kind(s);
      expect(r.kind, String(s)).toBe('retryable');
      expect(r).not.toHaveProperty('pauseMs');
    }
    expect(kind(503, { retryAfter: '120' })).toMatchObject({ kind: 'retryable', retryAfterMs: 120_000, pauseMs: 120_000 });
  });
});

describe('Retry-After parsing', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });
  it('reads HTTP dates relative to now, a past date as 0', () => {
    expect(parseRetryAfter('Tue, 01 Dec 2026 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 09:00:00 GMT', now)).toBe(0);
  });
  it('clamps to the maximum', () => {
    expect(parseRetryAfter('86400', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 01 Jan 2027 00:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
  });
  it('ignores what it cannot read', () => {
    for (const v of [undefined, '', '-5', 'soon', '12abc', 'Mon, 45 Foo 2026 99:00:00 GMT']) expect(parseRetryAfter(v, now), String(v)).toBeUndefined();
  });
});

describe('config', () => {
  const good = { url: 'https://hooks.example.com/in', secret: VECTOR.secret };
  const issues = (c: unknown) => {
    const r = webhookConfigSchema.safeParse(c);
    return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };

  it('accepts https, and http to loopback or with allowInsecure', () => {
    expect(issues(good)).toBe('');
    expect(issues({ ...good, url: 'http://127.0.0.1:8080/x' })).toBe('');
    expect(issues({ ...good, url: 'http://localhost/x' })).toBe('');
    expect(issues({ ...good, url: 'http://[::1]:9/x' })).toBe('');
    expect(issues({ ...good, url: 'http://hooks.internal/x', allowInsecure: true })).toBe('');
    expect(webhookConfigSchema.parse(good)).toMatchObject({ timeoutMs: 30_000, headers: {}, allowInsecure: false });
  });

  it('refuses plain http elsewhere, other schemes, credentials in the URL', () => {
    expect(issues({ ...good, url: 'http://hooks.example.com/in' })).toMatch(/^url: plain http to hooks.example.com/);
    expect(issues({ ...good, url: 'ftp://hooks.example.com/in' })).toMatch(/^url: expected an https URL/);
    expect(issues({ ...good, url: 'not a url' })).toMatch(/^url: expected an absolute URL/);
    expect(issues({ ...good, url: 'https://u:pw@hooks.example.com/in' })).toMatch(/^url: credentials in the URL/);
  });

  it('refuses secrets that are not whsec_ base64 of 24..64 bytes, without echoing them', () => {
    const bad = ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_not*base64!!', `whsec_${Buffer.alloc(16).toString('base64')}`, `whsec_${Buffer.alloc(65).toString('base64')}`];
    for (const secret of bad) {
      const text = issues({ ...good, secret });
      expect(text, secret).toMatch(/^secret: /);
      expect(text).not.toContain(secret);
    }
  });

  it('refuses headers that would break signing or framing', () => {
    expect(issues({ ...good, headers: { 'Webhook-Signature': 'x' } })).toMatch(/^headers.Webhook-Signature: .*set by the connector/);
    expect(issues({ ...good, headers: { 'Content-Type': 'text/plain' } })).toMatch(/set by the connector/);
    expect(issues({ ...good, headers: { 'bad name': 'x' } })).toMatch(/not a valid header name/);
    expect(issues({ ...good, headers: { 'X-Token': 'a\r\nInjected: 1' } })).toMatch(/line breaks/);
    expect(issues({ ...good, headers: { Authorization: 'Bearer t0ken' } })).toBe('');
  });
});

describe('body format', () => {
  const [p0, p1] = sampleProfiles(2);
  const prepared = (item: DestinationItem) => {
    const p = prepareItem(item);
    if (!p.ok) throw new Error(p.result.reason);
    return p;
  };

  it('upserts send the mapping payload when there is one, else the profile document', () => {
    expect(prepared({ key: p0.id, op: 'upsert', profile: p0, payload: { EMAIL: 'user0@example.com' }, mergedFrom: ['old1'] }).wire).toEqual({
      type: 'profile.upserted', key: 'p0', profileId: 'p0', timestamp: p0.updatedAt, data: { EMAIL: 'user0@example.com' }, mergedFrom: ['old1'],
    });
    expect(prepared({ key: p1.id, op: 'upsert', profile: p1 }).wire).toEqual({ type: 'profile.upserted', key: 'p1', profileId: 'p1', timestamp: p1.updatedAt, data: p1 });
  });

  it('deletes say merged (with survivor) or deleted/unmatched, with the ref to remove', () => {
    expect(prepared({ key: 'old1', op: 'delete', previous: { ref: 'old1-ref' }, reason: 'merged', survivor: 'p0' }).wire).toEqual({
      type: 'profile.merged', key: 'old1', profileId: 'old1', ref: 'old1-ref', survivor: 'p0',
    });
    expect(prepared({ key: 'p9', op: 'delete', previous: { ref: 'p9' }, reason: 'deleted' }).wire).toMatchObject({ type: 'profile.deleted', reason: 'deleted', ref: 'p9' });
    expect(prepared({ key: 'p8', op: 'delete', previous: { ref: 'p8' }, reason: 'unmatched' }).wire).toMatchObject({ type: 'profile.deleted', reason: 'unmatched' });
  });

  it('track items carry the event and only the profile id', () => {
    const event = { name: 'order', properties: { sku: 'A1' }, occurredAt: '2026-11-30T12:00:00.000Z', revenue: 12.5, currency: 'EUR', source: 'shop', stream: 'orders', recordId: 'o1' };
    const w = prepared({ key: 'shop/orders/o1', op: 'track', event, profile: p0 }).wire;
    expect(w).toEqual({ type: 'event', key: 'shop/orders/o1', profileId: 'p0', timestamp: event.occurredAt, data: { name: 'order', properties: { sku: 'A1' }, revenue: 12.5, currency: 'EUR', source: 'shop', stream: 'orders', recordId: 'o1' } });
    expect(JSON.stringify(w)).not.toContain('user0@example.com');
  });

  it('an item that cannot be sent is a permanent result with a reason', () => {
    const bad: DestinationItem[] = [
      { key: 'x1', op: 'upsert' },
      { key: 'x2', op: 'track', profile: p0 },
      { key: 'x3', op: 'delete', previous: { ref: 'x3' }, reason: 'merged' },
      { key: 'x4', op: 'upsert', payload: { n: 10n } },
    ];
    for (const item of bad) {
      const p = prepareItem(item);
      expect(p.ok, item.key).toBe(false);
      if (!p.ok) expect(p.result.reason).toContain(item.key);
    }
  });

  it('the envelope is JSON with the items in order and no attempt time', () => {
    const parts = [prepared({ key: 'p0', op: 'upsert', payload: { a: 1 } }).json, prepared({ key: 'p1', op: 'delete', previous: { ref: 'p1' }, reason: 'deleted' }).json];
    const body = JSON.parse(buildBody({ id: 'msg_x', destination: 'hook', items: parts }));
    expect(body).toEqual({
      type: 'batch', version: 1, id: 'msg_x', destination: 'hook', count: 2,
      items: [{ type: 'profile.upserted', key: 'p0', profileId: 'p0', data: { a: 1 } }, { type: 'profile.deleted', key: 'p1', profileId: 'p1', ref: 'p1', reason: 'deleted' }],
    });
  });
});

describe('plugin definition', () => {
  it('declares one destination with its secrets, capabilities, budget and limits', () => {
    const [d] = plugin.destinations;
    expect(d.id).toBe('webhook');
    expect(d.spec.secrets).toEqual(['secret', 'headers']);
    expect(d.capabilities).toEqual({ delete: true, events: true, withdraw: 'mark' });
    expect(d.budgets).toEqual({ default: { perSecond: 20 } });
    expect(d.limits?.maxBatchItems).toBeGreaterThan(0);
    expect(d.limits?.maxBatchBytes).toBeGreaterThan(0);
  });
});

describe('consent withdrawal items', () => {
  it('a withdraw item becomes profile.consent_withdrawn with its purpose and ref; one without a purpose is refused, not sent', () => {
    const [p] = sampleProfiles(1);
    const ok = prepareItem({ key: p.id, op: 'withdraw', profile: p, previous: { ref: p.id }, reason: 'consent_withdrawn', purpose: 'email_marketing' });
    expect(ok.ok && ok.wire).toEqual({ type: 'profile.consent_withdrawn', key: p.id, profileId: p.id, ref: p.id, purpose: 'email_marketing', timestamp: p.updatedAt });
    // No traits travel with a withdrawal.
    expect(ok.ok && ok.json).not.toContain(JSON.stringify(p.traits));
    const bad = prepareItem({ key: p.id, op: 'withdraw', profile: p, previous: { ref: p.id }, reason: 'consent_withdrawn' });
    expect(bad).toEqual({ ok: false, result: { status: 'permanent', reason: `withdrawal of ${p.id} names no purpose` } });
  });
});
