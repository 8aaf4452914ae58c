import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import type { InboundRequest } from '../../../core/serve/contract.js';
import { basicVerifier, bearerVerifier } from './credential.js';
import { hmacVerifier } from './hmac.js';
import { shopifyVerifier } from './shopify.js';
import { standardWebhooksVerifier } from './standard-webhooks.js';
import { stripeVerifier } from './stripe.js';

const req = (headers: Record<string, string>, body: string | Buffer): InboundRequest => ({
  method: 'POST',
  path: '/hooks/x',
  headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
});

describe('standard webhooks', () => {
  // The published vector of the Standard Webhooks spec.
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const key = Buffer.from(secret.slice(6), 'base64');
  const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
  const ts = 1614265330;
  const body = '{"test": 2432232314}';
  const published = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
  const v = standardWebhooksVerifier({ keys: [key], toleranceSeconds: 300 });
  const at = (seconds: number) => seconds * 1000;
  const headers = (sig: string, t = ts) => ({ 'webhook-id': id, 'webhook-timestamp': String(t), 'webhook-signature': sig });

  it('accepts the published test vector and returns webhook-id as the dedup id', () => {
    expect(v.verify(req(headers(published), body), at(ts))).toEqual({ ok: true, id });
  });

  it('agrees with a hand-made HMAC and with the standardwebhooks library', () => {
    const bodyB = '{"order":1}';
    const hand = `v1,${createHmac('sha256', key).update(`${id}.${ts + 10}.${bodyB}`).digest('base64')}`;
    const lib = new Webhook(secret).sign(id, new Date(at(ts + 10)), bodyB);
    expect(lib).toBe(hand);
    expect(v.verify(req(headers(hand, ts + 10), bodyB), at(ts + 10)).ok).toBe(true);
  });

  it('accepts any one of several space-separated signatures (key rotation), ignoring other versions', () => {
    const other = `v1,${createHmac('sha256', Buffer.alloc(32, 7)).update(`${id}.${ts}.${body}`).digest('base64')}`;
    expect(v.verify(req(headers(`v1a,abc ${other} ${published}`), body), at(ts)).ok).toBe(true);
    expect(v.verify(req(headers(`${other} v2,${published.slice(3)}`), body), at(ts))).toEqual({ ok: false, reason: 'no v1 signature in webhook-signature matches' });
  });

  it('refuses a changed body, id or timestamp', () => {
    expect(v.verify(req(headers(published), '{"test": 2432232315}'), at(ts)).ok).toBe(false);
    expect(v.verify(req({ ...headers(published), 'webhook-id': 'msg_other' }, body), at(ts)).ok).toBe(false);
    expect(v.verify(req(headers(published, ts + 1), body), at(ts)).ok).toBe(false);
  });

  it('refuses timestamps outside the 5-minute tolerance on either side, accepts the edges', () => {
    expect(v.verify(req(headers(published), body), at(ts + 300)).ok).toBe(true);
    expect(v.verify(req(headers(published), body), at(ts - 300)).ok).toBe(true);
    const late = v.verify(req(headers(published), body), at(ts + 301));
    expect(late).toEqual({ ok: false, reason: 'webhook-timestamp is outside the 300 s tolerance' });
    expect(v.verify(req(headers(published), body), at(ts - 301)).ok).toBe(false);
    expect(v.verify(req(headers(published, Number.NaN), body), at(ts)).ok).toBe(false);
  });

  it('names the missing header, and never the expected signature', () => {
    for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const hs: Record<string, string> = headers(published);
      delete hs[h];
      const r = v.verify(req(hs, body), at(ts));
      expect(r).toEqual({ ok: false, reason: `missing ${h} header` });
    }
    const wrong = v.verify(req(headers('v1,AAAA'), body), at(ts));
    expect(JSON.stringify(wrong)).not.toContain(published.slice(3));
  });
});

describe('stripe', () => {
  const secret = 'whsec_test_stripe_secret_123';
  const body = '{"id":"evt_1","type":"customer.created"}';
  const t = 1_700_000_000;
  const sign = (ts: number, b = body, s = secret) => createHmac('sha256', s).update(`${ts}.${b}`).digest('hex');
  const v = stripeVerifier({ secrets: [secret], toleranceSeconds: 300 });

  it('accepts t=...,v1=<hex> computed by hand, among several v1 and a v0', () => {
    expect(v.verify(req({ 'Stripe-Signature': `t=${t},v1=${sign(t)}` }, body), t * 1000).ok).toBe(true);
    const rolled = `t=${t},v1=${sign(t, body, 'whsec_old')},v1=${sign(t)},v0=${'0'.repeat(64)}`;
    expect(v.verify(req({ 'Stripe-Signature': rolled }, body), t * 1000).ok).toBe(true);
  });

  it('uses the secret as text, not base64-decoded', () => {
    const decoded = createHmac('sha256', Buffer.from(secret.slice(6), 'base64')).update(`${t}.${body}`).digest('hex');
    expect(v.verify(req({ 'Stripe-Signature': `t=${t},v1=${decoded}` }, body), t * 1000).ok).toBe(false);
  });

  it('refuses a wrong signature, a missing part, and a timestamp past 300 s', () => {
    expect(v.verify(req({ 'Stripe-Signature': `t=${t},v1=${sign(t + 1)}` }, body), t * 1000).ok).toBe(false);
    expect(v.verify(req({ 'Stripe-Signature': `v1=${sign(t)}` }, body), t * 1000)).toEqual({ ok: false, reason: 'Stripe-Signature has no t= timestamp' });
    expect(v.verify(req({ 'Stripe-Signature': `t=${t}` }, body), t * 1000)).toEqual({ ok: false, reason: 'Stripe-Signature has no v1= signature' });
    expect(v.verify(req({}, body), t * 1000)).toEqual({ ok: false, reason: 'missing Stripe-Signature header' });
    expect(v.verify(req({ 'Stripe-Signature': `t=${t},v1=${sign(t)}` }, body), (t + 301) * 1000)).toEqual({
      ok: false,
      reason: 'Stripe-Signature timestamp is outside the 300 s tolerance',
    });
  });
});

describe('shopify', () => {
  const secret = 'shpss_0123456789abcdef';
  const body = '{"id":820982911946154508,"email":"jon@example.org"}';
  const mac = createHmac('sha256', secret).update(body).digest('base64');
  const v = shopifyVerifier({ secrets: [secret] });

  it('accepts the base64 HMAC of the raw body and returns X-Shopify-Webhook-Id', () => {
    expect(v.verify(req({ 'X-Shopify-Hmac-SHA256': mac, 'X-Shopify-Webhook-Id': 'b54557e4' }, body), 0)).toEqual({ ok: true, id: 'b54557e4' });
  });

  it('checks the bytes as sent: the same JSON re-serialised does not verify', () => {
    const reformatted = JSON.stringify(JSON.parse('{"a": 1}'));
    const macSpaced = createHmac('sha256', secret).update('{"a": 1}').digest('base64');
    expect(v.verify(req({ 'X-Shopify-Hmac-SHA256': macSpaced }, reformatted), 0).ok).toBe(false);
    expect(v.verify(req({ 'X-Shopify-Hmac-SHA256': macSpaced }, '{"a": 1}'), 0).ok).toBe(true);
  });

  it('refuses a wrong or missing signature', () => {
    expect(v.verify(req({ 'X-Shopify-Hmac-SHA256': createHmac('sha256', 'other').update(body).digest('base64') }, body), 0).ok).toBe(false);
    expect(v.verify(req({}, body), 0)).toEqual({ ok: false, reason: 'missing X-Shopify-Hmac-SHA256 header' });
  });
});

describe('generic hmac-sha256', () => {
  const secret = 'gh-secret';
  const body = Buffer.from('{"action":"opened","zero":"\u00e9"}', 'utf8');
  const hex = createHmac('sha256', secret).update(body).digest('hex');
  const b64 = createHmac('sha256', secret).update(body).digest('base64');

  it('hex with a prefix (GitHub style), any letter case', () => {
    const v = hmacVerifier({ secrets: [secret], header: 'X-Hub-Signature-256', encoding: 'hex', prefix: 'sha256=' });
    expect(v.verify(req({ 'X-Hub-Signature-256': `sha256=${hex}` }, body), 0).ok).toBe(true);
    expect(v.verify(req({ 'X-Hub-Signature-256': `sha256=${hex.toUpperCase()}` }, body), 0).ok).toBe(true);
    expect(v.verify(req({ 'X-Hub-Signature-256': hex }, body), 0)).toEqual({ ok: false, reason: 'X-Hub-Signature-256 does not start with sha256=' });
    expect(v.verify(req({ 'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}` }, body), 0).ok).toBe(false);
  });

  it('base64 in a custom header', () => {
    const v = hmacVerifier({ secrets: [secret], header: 'X-Signature', encoding: 'base64', prefix: '' });
    expect(v.verify(req({ 'x-signature': b64 }, body), 0).ok).toBe(true);
    expect(v.verify(req({ 'x-signature': hex }, body), 0).ok).toBe(false);
    expect(v.verify(req({}, body), 0)).toEqual({ ok: false, reason: 'missing X-Signature header' });
  });
});

describe('receiver-side secret rotation (several configured secrets)', () => {
  const body = '{"n":1}';
  const t = 1_700_000_000;

  it('standard webhooks: a request signed with the old or the new key verifies, a third key does not', () => {
    const oldKey = Buffer.alloc(32, 1);
    const newKey = Buffer.alloc(32, 2);
    const v = standardWebhooksVerifier({ keys: [newKey, oldKey], toleranceSeconds: 300 });
    const signed = (key: Buffer) => ({
      'webhook-id': 'msg_r',
      'webhook-timestamp': String(t),
      'webhook-signature': `v1,${createHmac('sha256', key).update(`msg_r.${t}.${body}`).digest('base64')}`,
    });
    expect(v.verify(req(signed(oldKey), body), t * 1000).ok).toBe(true);
    expect(v.verify(req(signed(newKey), body), t * 1000).ok).toBe(true);
    expect(v.verify(req(signed(Buffer.alloc(32, 3)), body), t * 1000).ok).toBe(false);
  });

  it('stripe, shopify and generic hmac accept any configured secret', () => {
    const stripe = stripeVerifier({ secrets: ['whsec_new', 'whsec_old'], toleranceSeconds: 300 });
    const stripeSig = (s: string) => `t=${t},v1=${createHmac('sha256', s).update(`${t}.${body}`).digest('hex')}`;
    expect(stripe.verify(req({ 'Stripe-Signature': stripeSig('whsec_old') }, body), t * 1000).ok).toBe(true);
    expect(stripe.verify(req({ 'Stripe-Signature': stripeSig('whsec_other') }, body), t * 1000).ok).toBe(false);
    const shop = shopifyVerifier({ secrets: ['new', 'old'] });
    expect(shop.verify(req({ 'X-Shopify-Hmac-SHA256': createHmac('sha256', 'old').update(body).digest('base64') }, body), 0).ok).toBe(true);
    expect(shop.verify(req({ 'X-Shopify-Hmac-SHA256': createHmac('sha256', 'other').update(body).digest('base64') }, body), 0).ok).toBe(false);
    const gen = hmacVerifier({ secrets: ['new', 'old'], header: 'X-Sig', encoding: 'hex', prefix: '' });
    expect(gen.verify(req({ 'X-Sig': createHmac('sha256', 'old').update(body).digest('hex') }, body), 0).ok).toBe(true);
    expect(gen.verify(req({ 'X-Sig': createHmac('sha256', 'other').update(body).digest('hex') }, body), 0).ok).toBe(false);
  });
});

describe('credentials for senders that cannot sign', () => {
  it('bearer token', () => {
    const v = bearerVerifier({ token: 'tok-1234567890' });
    expect(v.verify(req({ Authorization: 'Bearer tok-1234567890' }, '{}'), 0).ok).toBe(true);
    expect(v.verify(req({ Authorization: 'Bearer tok-123456789' }, '{}'), 0).ok).toBe(false);
    expect(v.verify(req({ Authorization: 'Basic dG9rOg==' }, '{}'), 0).ok).toBe(false);
    expect(v.verify(req({}, '{}'), 0)).toEqual({ ok: false, reason: 'missing Authorization: Bearer credential' });
  });

  it('basic credential: both user name and password must match', () => {
    const v = basicVerifier({ username: 'brevo', password: 'pa:ss word' });
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    expect(v.verify(req({ Authorization: basic('brevo', 'pa:ss word') }, '{}'), 0).ok).toBe(true);
    expect(v.verify(req({ Authorization: basic('brevo', 'pa:ss') }, '{}'), 0).ok).toBe(false);
    expect(v.verify(req({ Authorization: basic('other', 'pa:ss word') }, '{}'), 0).ok).toBe(false);
    expect(v.verify(req({ Authorization: 'Basic !!!' }, '{}'), 0).ok).toBe(false);
  });
});
