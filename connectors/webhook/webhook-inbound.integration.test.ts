import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfiguredStream } from '../../core/plugin/types.js';
import { captureLogger, countingMetrics } from '../../test/kit/context.js';
import { startInboundHarness } from './__fixtures__/inbound-http.js';
import { MemoryInbox } from './__fixtures__/memory-inbox.js';
import { webhookSourceConfigSchema, webhookStreamConfigSchema, type WebhookStreamConfig } from './inbound-config.js';
import { createWebhookSource } from './inbound-source.js';

// Real HTTP on 127.0.0.1, port 0, through a node:http harness that hands the
// received bytes to the route as `tributary serve` will.

const NOW = 1_764_590_400_000; // 2025-12-01T12:00:00Z, the injected clock
const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SW_KEY = Buffer.from(SW_SECRET.slice(6), 'base64');
const SHOP_SECRET = 'shpss_test_secret_value';
const BREVO_TOKEN = 'brevo-hook-token-42';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function serve(name: string, config: unknown, streamConfig: unknown = {}) {
  const inbox = new MemoryInbox();
  const logger = captureLogger();
  const metrics = countingMetrics();
  const source = createWebhookSource({ now: () => NOW });
  const stream: ConfiguredStream<WebhookStreamConfig> = { name: 'events', mode: 'incremental', primaryKey: ['_webhook.seq'], config: webhookStreamConfigSchema.parse(streamConfig) };
  const ctx = { name, config: webhookSourceConfigSchema.parse(config), logger, metrics, signal: new AbortController().signal };
  const routes = source.inbound!(ctx, [stream]);
  const h = await startInboundHarness(routes, inbox);
  closers.push(h.close);
  const post = async (body: string | Buffer, headers: Record<string, string> = {}, path = `/hooks/${name}`) => {
    const res = await fetch(`${h.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : new Uint8Array(body) });
    return { status: res.status, text: await res.text() };
  };
  return { inbox, logger, metrics, post, routes };
}

function swHeaders(id: string, body: string, ts = Math.floor(NOW / 1000)) {
  const sig = createHmac('sha256', SW_KEY).update(`${id}.${ts}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${sig}` };
}

describe('webhook source over HTTP: Standard Webhooks', () => {
  const config = { verify: { scheme: 'standard-webhooks', secret: SW_SECRET } };

  it('mounts POST /hooks/<source name> and stores a signed event with webhook-id as dedup key', async () => {
    const s = await serve('app-events', config);
    expect(s.routes.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /hooks/app-events']);
    const body = '{"type":"user.created","data":{"email":"ana@shop.test"}}';
    const res = await s.post(body, swHeaders('msg_1', body));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ accepted: 1, duplicates: 0 });
    expect(s.inbox.rows).toEqual([
      { seq: 1, source: 'app-events', stream: 'events', dedupKey: 'msg_1', receivedAt: new Date(NOW).toISOString(), body: JSON.parse(body) },
    ]);
  });

  it('a retried webhook-id answers 200 and is stored once', async () => {
    const s = await serve('app-events', config);
    const body = '{"n":1}';
    expect((await s.post(body, swHeaders('msg_dup', body))).status).toBe(200);
    const again = await s.post(body, swHeaders('msg_dup', body, Math.floor(NOW / 1000) - 60));
    expect(again.status).toBe(200);
    expect(JSON.parse(again.text)).toEqual({ accepted: 0, duplicates: 1 });
    expect(s.inbox.rows).toHaveLength(1);
  });

  it('bad or missing signature: 401, nothing stored, no secret or body in the answer or the logs', async () => {
    const s = await serve('app-events', config);
    const body = '{"email":"private@shop.test"}';
    const forged = { ...swHeaders('msg_2', body), 'webhook-signature': `v1,${createHmac('sha256', 'guess').update(body).digest('base64')}` };
    const expected = swHeaders('msg_2', body)['webhook-signature'];
    for (const headers of [forged, {}, { ...swHeaders('msg_2', body), 'webhook-id': 'msg_3' }]) {
      const res = await s.post(body, headers);
      expect(res.status).toBe(401);
      for (const leak of [SW_SECRET, SW_SECRET.slice(6), expected.slice(3), 'private@shop.test']) expect(res.text).not.toContain(leak);
    }
    expect(s.inbox.rows).toEqual([]);
    expect(s.inbox.appendCalls).toBe(0);
    const logged = JSON.stringify(s.logger.entries);
    for (const leak of [SW_SECRET, SW_SECRET.slice(6), expected.slice(3), 'private@shop.test']) expect(logged).not.toContain(leak);
    expect(s.metrics.counts.get('webhook_requests')).toBe(3);
  });

  it('a correctly signed request outside the 5-minute window is 401 (a replay)', async () => {
    const s = await serve('app-events', config);
    const body = '{"n":1}';
    const res = await s.post(body, swHeaders('msg_old', body, Math.floor(NOW / 1000) - 301));
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text)).toEqual({ error: 'webhook-timestamp is outside the 300 s tolerance' });
    expect(s.inbox.rows).toEqual([]);
  });

  it('signed but malformed JSON, or JSON that is not an object or array: 400, nothing stored', async () => {
    const s = await serve('app-events', config);
    for (const body of ['{"n":', '"text"', '42', 'null', '[1,2]']) {
      const res = await s.post(body, swHeaders(`msg_${body.length}`, body));
      expect(res.status, body).toBe(400);
      expect(Object.keys(JSON.parse(res.text))).toEqual(['error']);
      expect(res.text).not.toContain(body);
    }
    const bad = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]); // {"a":"<0xff>"}
    const sig = createHmac('sha256', SW_KEY).update(`msg_u.${Math.floor(NOW / 1000)}.`).update(bad).digest('base64');
    const res = await s.post(bad, { 'webhook-id': 'msg_u', 'webhook-timestamp': String(Math.floor(NOW / 1000)), 'webhook-signature': `v1,${sig}` });
    expect(res.status).toBe(400);
    expect(s.inbox.rows).toEqual([]);
  });

  it('a body over maxBodyBytes is 413 and an unknown path 404', async () => {
    const s = await serve('app-events', { ...config, maxBodyBytes: 1024 });
    const big = JSON.stringify({ pad: 'x'.repeat(2000) });
    expect((await s.post(big, swHeaders('msg_big', big))).status).toBe(413);
    expect((await s.post('{}', swHeaders('msg_x', '{}'), '/hooks/other')).status).toBe(404);
    expect(s.inbox.rows).toEqual([]);
  });

  it('when the inbox cannot commit, the sender gets no 2xx (and retries)', async () => {
    const s = await serve('app-events', config);
    s.inbox.failNextAppend = true;
    const body = '{"n":1}';
    expect((await s.post(body, swHeaders('msg_f', body))).status).toBe(500);
    expect((await s.post(body, swHeaders('msg_f', body))).status).toBe(200);
    expect(s.inbox.rows).toHaveLength(1);
  });
});

describe('webhook source over HTTP: Shopify orders with a recordSelector', () => {
  const shopify = (body: string, id: string) => ({
    'X-Shopify-Hmac-SHA256': createHmac('sha256', SHOP_SECRET).update(body).digest('base64'),
    'X-Shopify-Webhook-Id': id,
    'X-Shopify-Topic': 'orders/create',
  });

  it('splits line_items into one event each (dedup <id>#<index>) in one append; a retry is stored once', async () => {
    const s = await serve('shop', { verify: { scheme: 'shopify', secret: SHOP_SECRET } }, { recordSelector: 'order.line_items' });
    const body = JSON.stringify({ order: { id: 450789469, line_items: [{ sku: 'A', price: '9.50' }, { sku: 'B', price: '20.00' }] } });
    const res = await s.post(body, shopify(body, 'wh-1'));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ accepted: 2, duplicates: 0 });
    expect(s.inbox.appendCalls).toBe(1);
    expect(s.inbox.rows.map((r) => [r.dedupKey, r.body])).toEqual([
      ['wh-1#0', { sku: 'A', price: '9.50' }],
      ['wh-1#1', { sku: 'B', price: '20.00' }],
    ]);
    const again = await s.post(body, shopify(body, 'wh-1'));
    expect(JSON.parse(again.text)).toEqual({ accepted: 0, duplicates: 2 });
    expect(s.inbox.rows).toHaveLength(2);
  });

  it('all or nothing: one element that is not an object refuses the request; a missing array is 400', async () => {
    const s = await serve('shop', { verify: { scheme: 'shopify', secret: SHOP_SECRET } }, { recordSelector: 'order.line_items' });
    const mixed = JSON.stringify({ order: { line_items: [{ sku: 'A' }, 'B'] } });
    const r1 = await s.post(mixed, shopify(mixed, 'wh-2'));
    expect(r1.status).toBe(400);
    expect(JSON.parse(r1.text)).toEqual({ error: 'record 1 is not a JSON object' });
    const none = JSON.stringify({ order: { id: 1 } });
    expect((await s.post(none, shopify(none, 'wh-3'))).status).toBe(400);
    expect(s.inbox.rows).toEqual([]);
    expect(s.inbox.appendCalls).toBe(0);
  });

  it('a tampered body (one byte) is 401', async () => {
    const s = await serve('shop', { verify: { scheme: 'shopify', secret: SHOP_SECRET } });
    const body = '{"id":1,"total_price":"10.00"}';
    expect((await s.post(body.replace('10.00', '1.00'), shopify(body, 'wh-4'))).status).toBe(401);
    expect((await s.post(body, shopify(body, 'wh-4'))).status).toBe(200);
  });
});

describe('webhook source over HTTP: Stripe and unsigned senders', () => {
  it('stripe: de-duplicates on the event id in the body', async () => {
    const s = await serve('billing', { verify: { scheme: 'stripe', secret: 'whsec_stripe_endpoint' } });
    const body = '{"id":"evt_123","type":"invoice.paid"}';
    const t = Math.floor(NOW / 1000);
    const sig = `t=${t},v1=${createHmac('sha256', 'whsec_stripe_endpoint').update(`${t}.${body}`).digest('hex')}`;
    expect((await s.post(body, { 'Stripe-Signature': sig })).status).toBe(200);
    expect(JSON.parse((await s.post(body, { 'Stripe-Signature': sig })).text)).toEqual({ accepted: 0, duplicates: 1 });
    expect(s.inbox.rows.map((r) => r.dedupKey)).toEqual(['evt_123']);
  });

  it('brevo with a bearer token: accepted with the token, 401 without; an array body is split', async () => {
    const s = await serve('brevo-hooks', { verify: { scheme: 'bearer', token: BREVO_TOKEN } });
    const body = '{"event":"unsubscribed","email":"ana@shop.test","id":1234}';
    expect((await s.post(body)).status).toBe(401);
    expect((await s.post(body, { authorization: 'Bearer wrong-token' })).status).toBe(401);
    expect((await s.post(body, { authorization: `Bearer ${BREVO_TOKEN}` })).status).toBe(200);
    const arr = '[{"event":"spam","email":"b@shop.test"},{"event":"delivered","email":"c@shop.test"}]';
    expect(JSON.parse((await s.post(arr, { authorization: `Bearer ${BREVO_TOKEN}` })).text)).toEqual({ accepted: 2, duplicates: 0 });
    // No id configured for bearer: nothing to de-duplicate on.
    expect(s.inbox.rows.map((r) => r.dedupKey)).toEqual([undefined, undefined, undefined]);
  });

  it('generic hmac with an idHeader de-duplicates on that header', async () => {
    const s = await serve('gh', { verify: { scheme: 'hmac-sha256', secret: 'gh-secret', header: 'X-Hub-Signature-256', prefix: 'sha256=' }, idHeader: 'X-GitHub-Delivery' });
    const body = '{"action":"opened"}';
    const headers = { 'X-Hub-Signature-256': `sha256=${createHmac('sha256', 'gh-secret').update(body).digest('hex')}`, 'X-GitHub-Delivery': 'd-1' };
    await s.post(body, headers);
    await s.post(body, headers);
    expect(s.inbox.rows.map((r) => r.dedupKey)).toEqual(['d-1']);
  });
});
