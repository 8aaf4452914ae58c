import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionError, DestinationGoneError } from '../../core/errors.js';
import type { DestinationContext, DestinationItem, RateGate } from '../../core/plugin/types.js';
import { destinationConnectorKit, sampleProfiles } from '../../test/kit/destination-kit.js';
import { testContext } from '../../test/kit/context.js';
import { startReceiver, type Receiver } from './__fixtures__/receiver.js';
import { DEFAULT_THROTTLE_MS } from './classify.js';
import { webhookConfigSchema, type WebhookConfig } from './config.js';
import { createWebhookDestination, webhookDestination } from './destination.js';

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const upserts = (n: number, prefix: string): DestinationItem[] => sampleProfiles(n, prefix).map((p) => ({ key: p.id, op: 'upsert', profile: p }));

/** A rate gate that records what the connector asked of it. */
function recordingGate(): RateGate & { takes: number; pauses: number[] } {
  const g = {
    takes: 0,
    pauses: [] as number[],
    async take() {
      g.takes++;
    },
    pause(ms: number) {
      g.pauses.push(ms);
    },
  };
  return g;
}

function ctxFor(config: WebhookConfig, rate: RateGate = recordingGate()): DestinationContext<WebhookConfig> {
  return { ...testContext(config, `hook-${process.pid}`), rate };
}

let kitReceiver: Receiver;
const kitSecret = newSecret();
destinationConnectorKit<WebhookConfig>({
  connector: webhookDestination,
  async setup() {
    kitReceiver = await startReceiver({ secret: kitSecret });
    return webhookConfigSchema.parse({ url: kitReceiver.url, secret: kitSecret });
  },
  teardown: () => kitReceiver.close(),
  readBack: async () => new Map(kitReceiver.held),
  failRetryable: async () => kitReceiver.failNext({ status: 503, body: 'down for maintenance' }),
  badConfigs: [
    { name: 'plain http to a remote host', config: { url: 'http://hooks.example.com/in', secret: kitSecret }, message: /url: plain http to hooks.example.com/ },
    { name: 'secret without whsec_', config: { url: 'https://hooks.example.com/in', secret: 'abc' }, message: /secret: expected a Standard Webhooks secret/ },
    { name: 'secret too short', config: { url: 'https://hooks.example.com/in', secret: 'whsec_c2hvcnQ=' }, message: /secret: the secret decodes to 5 bytes/ },
    { name: 'unknown key', config: { url: 'https://hooks.example.com/in', secret: kitSecret, retries: 3 }, message: /retries/ },
    { name: 'host that does not resolve', config: { url: `https://nowhere-${process.pid}.invalid/in`, secret: kitSecret }, message: /cannot resolve nowhere-\d+\.invalid/ },
    { name: 'nothing listening', config: { url: 'http://127.0.0.1:1/in', secret: kitSecret }, message: /cannot connect to 127.0.0.1:1 \(ECONNREFUSED\)/ },
  ],
});

describe('webhook destination against a Standard Webhooks receiver', () => {
  const secret = newSecret();
  let receiver: Receiver;
  let config: WebhookConfig;
  beforeAll(async () => {
    receiver = await startReceiver({ secret });
    config = webhookConfigSchema.parse({ url: receiver.url, secret, timeoutMs: 500 });
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    receiver.okAnswer = { status: 200, contentType: 'application/json', body: '{"ok":true}' };
  });

  it('check opens a connection but sends no delivery', async () => {
    const before = receiver.attempts.length;
    expect(await webhookDestination.check(ctxFor(config))).toEqual({ ok: true });
    expect(receiver.attempts.length).toBe(before);
  });

  it('one write is one signed request, verified by the official library, after one rate token', async () => {
    const gate = recordingGate();
    const before = receiver.attempts.length;
    const results = await webhookDestination.write(ctxFor(config, gate), upserts(3, 'sig'));
    expect(results).toEqual([{ status: 'ok' }, { status: 'ok' }, { status: 'ok' }]);
    expect(gate.takes).toBe(1);
    const mine = receiver.attempts.slice(before);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ verified: true, answer: 200 });
    expect(mine[0].headers['content-type']).toBe('application/json');
    expect(receiver.deliveries.at(-1)).toMatchObject({ type: 'batch', version: 1, id: mine[0].id, count: 3, destination: `hook-${process.pid}` });
  });

  it('a replayed webhook-id is answered 200 and counted, not applied twice', async () => {
    const items = upserts(2, 'dup');
    const delivered = receiver.deliveries.length;
    const dups = receiver.duplicates;
    expect((await webhookDestination.write(ctxFor(config), items)).map((r) => r.status)).toEqual(['ok', 'ok']);
    expect((await webhookDestination.write(ctxFor(config), items)).map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(receiver.deliveries.length).toBe(delivered + 1);
    expect(receiver.duplicates).toBe(dups + 1);
  });

  it('a retry of the same batch carries the same webhook-id with a fresh timestamp and a valid signature', async () => {
    let clock = Date.now() - 120_000;
    const dest = createWebhookDestination({ now: () => clock });
    const items = upserts(2, 'retry');
    const before = receiver.attempts.length;
    receiver.failNext({ status: 503 });
    expect((await dest.write(ctxFor(config), items))[0].status).toBe('retryable');
    clock += 90_000;
    expect((await dest.write(ctxFor(config), items))[0].status).toBe('ok');
    const [first, second] = receiver.attempts.slice(before);
    expect(second.id).toBe(first.id);
    expect(second.timestamp! - first.timestamp!).toBe(90);
    expect(second.signature).not.toBe(first.signature);
    expect(second.body).toBe(first.body);
    expect(first.verified && second.verified).toBe(true);
    expect(receiver.held.has('retry0')).toBe(true);
  });

  it('the receiver rejects a timestamp outside 5 minutes, and the connector stops on its 401', async () => {
    const stale = createWebhookDestination({ now: () => Date.now() - 6 * 60_000 });
    const before = receiver.attempts.length;
    const err = await stale.write(ctxFor(config), upserts(1, 'stale')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(false);
    expect(receiver.attempts[before]).toMatchObject({ verified: false, verifyError: 'Message timestamp too old', answer: 401 });
    expect(receiver.held.has('stale0')).toBe(false);
    const recent = createWebhookDestination({ now: () => Date.now() - 4 * 60_000 });
    expect((await recent.write(ctxFor(config), upserts(1, 'stale')))[0].status).toBe('ok');
  });

  it('a wrong secret is a non-retryable ConnectionError in one line without the secret', async () => {
    const wrong = newSecret();
    const err = await webhookDestination.write(ctxFor({ ...config, secret: wrong }), upserts(1, 'wrong')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).not.toBeInstanceOf(DestinationGoneError);
    const message = (err as ConnectionError).message;
    expect((err as ConnectionError).retryable).toBe(false);
    expect(message).toMatch(/^http:\/\/127\.0\.0\.1:\d+: receiver answered 401/);
    expect(message).not.toContain('\n');
    for (const s of [wrong, secret, wrong.slice(6), secret.slice(6)]) expect(message).not.toContain(s);
  });

  it('410 throws DestinationGoneError', async () => {
    receiver.failNext({ status: 410, body: 'endpoint disabled' });
    const err = await webhookDestination.write(ctxFor(config), upserts(1, 'gone')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationGoneError);
    expect((err as Error).message).toMatch(/410 Gone.*endpoint disabled/);
  });

  it('429 with Retry-After is retryable with retryAfterMs and pauses the rate gate', async () => {
    const gate = recordingGate();
    receiver.failNext({ status: 429, headers: { 'retry-after': '3' }, body: 'too many' });
    const results = await webhookDestination.write(ctxFor(config, gate), upserts(2, 'thr'));
    expect(results).toEqual([0, 1].map(() => ({ status: 'retryable', reason: 'receiver answered 429, throttling for 3000 ms: too many', retryAfterMs: 3000 })));
    expect(gate.pauses).toEqual([3000]);
  });

  it('502 without Retry-After pauses for the default', async () => {
    const gate = recordingGate();
    receiver.failNext({ status: 502 });
    const [r] = await webhookDestination.write(ctxFor(config, gate), upserts(1, 'gw'));
    expect(r).toMatchObject({ status: 'retryable', retryAfterMs: DEFAULT_THROTTLE_MS });
    expect(gate.pauses).toEqual([DEFAULT_THROTTLE_MS]);
  });

  it('400 is permanent with the status and a snippet of the answer, secrets redacted', async () => {
    receiver.failNext({ status: 400, body: `<html>\n  <p>bad field email; your secret is ${secret}</p>\n</html>` });
    const [r] = await webhookDestination.write(ctxFor(config), upserts(1, 'bad'));
    expect(r.status).toBe('permanent');
    const reason = (r as { reason: string }).reason;
    expect(reason).toBe('receiver refused the batch with 400: <html> <p>bad field email; your secret is ***</p> </html>');
  });

  it('a 2xx answer in HTML is success', async () => {
    receiver.okAnswer = { status: 202, contentType: 'text/html', body: `<html><body>${'thanks '.repeat(50_000)}</body></html>` };
    expect((await webhookDestination.write(ctxFor(config), upserts(2, 'html'))).map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(receiver.held.has('html1')).toBe(true);
  });

  it('a receiver that hangs is a retryable timeout', async () => {
    receiver.failNext('hang');
    const [r] = await webhookDestination.write(ctxFor(config), upserts(1, 'hang'));
    expect(r).toEqual({ status: 'retryable', reason: `no answer from ${new URL(receiver.url).origin} within 500 ms` });
  });

  it('a dropped connection is retryable', async () => {
    receiver.failNext('drop');
    const [r] = await webhookDestination.write(ctxFor(config), upserts(1, 'drop'));
    expect(r.status).toBe('retryable');
    expect((r as { reason: string }).reason).toMatch(/failed \((ECONNRESET|ERR_BAD_RESPONSE|ECONNABORTED)\)/);
  });

  it('deletes, merges and track items arrive in the body, the receiver applies them', async () => {
    const [a, b, c] = sampleProfiles(3, 'mix');
    await webhookDestination.write(ctxFor(config), [a, b, c].map((p) => ({ key: p.id, op: 'upsert' as const, profile: p })));
    const event = { name: 'order', properties: { sku: 'A1' }, occurredAt: '2026-11-30T12:00:00.000Z', source: 'shop', stream: 'orders', recordId: `o-${process.pid}` };
    const batch: DestinationItem[] = [
      { key: a.id, op: 'upsert', profile: a, payload: { EMAIL: 'merged@example.com' }, mergedFrom: [b.id] },
      { key: b.id, op: 'delete', previous: { ref: b.id }, reason: 'merged', survivor: a.id },
      { key: c.id, op: 'delete', previous: { ref: c.id }, reason: 'deleted' },
      { key: `shop/orders/o-${process.pid}`, op: 'track', event, profile: a },
      { key: 'broken', op: 'upsert' },
    ];
    const results = await webhookDestination.write(ctxFor(config), batch);
    expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'permanent']);
    const got = receiver.deliveries.at(-1)!;
    expect(got.count).toBe(4);
    expect(got.items.map((i) => i.type)).toEqual(['profile.upserted', 'profile.merged', 'profile.deleted', 'event']);
    expect(got.items[1]).toMatchObject({ survivor: a.id, ref: b.id });
    expect(receiver.held.get(a.id)).toEqual({ EMAIL: 'merged@example.com' });
    expect(receiver.held.has(b.id) || receiver.held.has(c.id)).toBe(false);
    expect(receiver.events.at(-1)).toMatchObject({ profileId: a.id, data: { name: 'order', properties: { sku: 'A1' } } });
  });

  it('an aborted run is retryable and leaves nothing at the receiver', async () => {
    const ac = new AbortController();
    ac.abort();
    const [r] = await webhookDestination.write({ ...ctxFor(config), signal: ac.signal }, upserts(1, 'abort'));
    expect(r).toEqual({ status: 'retryable', reason: 'delivery aborted before the receiver answered' });
    expect(receiver.held.has('abort0')).toBe(false);
  });

  it('a batch of only bad items sends nothing', async () => {
    const before = receiver.attempts.length;
    const gate = recordingGate();
    expect(await webhookDestination.write(ctxFor(config, gate), [{ key: 'x', op: 'upsert' }])).toEqual([{ status: 'permanent', reason: 'upsert of x carries neither a payload nor a profile' }]);
    expect(receiver.attempts.length).toBe(before);
    expect(gate.takes).toBe(0);
  });
});

describe('extra headers', () => {
  const secret = newSecret();
  const token = `Bearer tok-${randomBytes(8).toString('hex')}`;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver({ secret, requireHeader: { name: 'Authorization', value: token } });
  });
  afterAll(() => receiver.close());

  it('are sent, and a 401 for them names no header value', async () => {
    const ok = webhookConfigSchema.parse({ url: receiver.url, secret, headers: { Authorization: token } });
    expect((await webhookDestination.write(ctxFor(ok), upserts(1, 'hdr')))[0].status).toBe('ok');
    const wrongToken = 'Bearer not-the-right-one';
    const bad = webhookConfigSchema.parse({ url: receiver.url, secret, headers: { Authorization: wrongToken } });
    const err = await webhookDestination.write(ctxFor(bad), upserts(1, 'hdr2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(false);
    expect((err as Error).message).not.toContain(wrongToken);
    expect((err as Error).message).not.toContain('not-the-right-one');
  });
});

describe('seeded random faults', () => {
  const secret = newSecret();
  const faults = { seed: 20261201, throttle: 0.2, error: 0.2, hang: 0.1, drop: 0.15 };
  const run = async () => {
    const receiver = await startReceiver({ secret, faults });
    const config = webhookConfigSchema.parse({ url: receiver.url, secret, timeoutMs: 300 });
    const statuses: string[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const [r] = await webhookDestination.write(ctxFor(config), upserts(1, `f${i}-`));
        statuses.push(r.status);
      }
      return { statuses, answers: receiver.attempts.map((a) => a.answer), held: receiver.held.size };
    } finally {
      await receiver.close();
    }
  };

  it('replay the same faults for the same seed, and the connector calls every fault retryable', async () => {
    const first = await run();
    const second = await run();
    expect(second.answers).toEqual(first.answers);
    expect(new Set(first.answers)).toEqual(new Set([200, 429, 500, 'hang', 'drop']));
    first.answers.forEach((a, i) => expect(first.statuses[i], `answer ${a}`).toBe(a === 200 ? 'ok' : 'retryable'));
    expect(first.held).toBe(first.answers.filter((a) => a === 200).length);
  });
});
