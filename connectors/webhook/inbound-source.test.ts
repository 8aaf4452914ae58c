import { describe, expect, it } from 'vitest';
import { mappingSchema } from '../../core/config/schema.js';
import type { ConfiguredStream, RecordMessage, SourceMessage, StreamState } from '../../core/plugin/types.js';
import { compileMapping } from '../../core/schema/mapping.js';
import { captureLogger, countingMetrics, testContext } from '../../test/kit/context.js';
import { MemoryInbox } from './__fixtures__/memory-inbox.js';
import { webhookSourceConfigSchema, webhookStreamConfigSchema, type WebhookSourceConfig, type WebhookStreamConfig } from './inbound-config.js';
import { webhookSource } from './inbound-source.js';
import plugin from './index.js';

const config = (extra: Record<string, unknown> = {}): WebhookSourceConfig =>
  webhookSourceConfigSchema.parse({ verify: { scheme: 'bearer', token: 'secret-token-1' }, ...extra });
const stream = (streamConfig: unknown = {}, mode: 'incremental' | 'full_refresh' = 'incremental'): ConfiguredStream<WebhookStreamConfig> => ({
  name: 'events',
  mode,
  primaryKey: ['_webhook.seq'],
  config: webhookStreamConfigSchema.parse(streamConfig),
});

async function fill(inbox: MemoryInbox, n: number, source = 'hooks', from = 0) {
  await inbox.append(
    Array.from({ length: n }, (_, i) => ({ source, stream: 'events', dedupKey: `m${from + i}`, receivedAt: '2026-12-01T10:00:00.000Z', body: { n: from + i } })),
  );
}

async function drain(inbox: MemoryInbox, cfg: WebhookSourceConfig, state: Record<string, StreamState | undefined> = {}, s = stream()) {
  const ctx = { name: 'hooks', config: cfg, logger: captureLogger(), metrics: countingMetrics(), signal: new AbortController().signal, inbox };
  const messages: SourceMessage[] = [];
  for await (const m of webhookSource.read(ctx, [s], state)) messages.push(m);
  const records = messages.filter((m): m is RecordMessage => m.type === 'record');
  const states = messages.flatMap((m) => (m.type === 'state' ? [m.state] : []));
  return { messages, records, states, last: states.at(-1) };
}

describe('webhook source: draining the inbox', () => {
  it('yields each stored event with its envelope and a { inboxSeq } state after every page', async () => {
    const inbox = new MemoryInbox();
    await fill(inbox, 5);
    await fill(inbox, 2, 'another-source'); // other sources' rows are not ours
    const { messages } = await drain(inbox, config({ pageSize: 2 }));
    expect(messages.map((m) => (m.type === 'record' ? `r${(m.data as { n: number }).n}` : m.type === 'state' ? `s${m.state.inboxSeq}` : m.type))).toEqual([
      'r0', 'r1', 's2', 'r2', 'r3', 's4', 'r4', 's5',
    ]);
    const first = messages[0] as RecordMessage;
    expect(first.data).toEqual({ n: 0, _webhook: { seq: 1, id: 'm0', receivedAt: '2026-12-01T10:00:00.000Z' } });
    expect(first.origin).toBe('/hooks/hooks inbox seq 1');
  });

  it('resumes after the saved seq: nothing re-yielded, new events only; a far-future seq yields nothing', async () => {
    const inbox = new MemoryInbox();
    await fill(inbox, 3);
    const first = await drain(inbox, config());
    expect(first.records).toHaveLength(3);
    expect(first.last).toEqual({ inboxSeq: 3 });

    const idle = await drain(inbox, config(), { events: first.last });
    expect(idle.records).toEqual([]);
    expect(idle.last).toEqual({ inboxSeq: 3 }); // the checkpoint stays where it was

    await fill(inbox, 2, 'hooks', 3);
    const next = await drain(inbox, config(), { events: first.last });
    expect(next.records.map((r) => r.data.n)).toEqual([3, 4]);
    expect(next.last).toEqual({ inboxSeq: 5 });

    expect((await drain(inbox, config(), { events: { inboxSeq: 1_000_000 } })).records).toEqual([]);
  });

  it('full_refresh re-reads everything the inbox holds', async () => {
    const inbox = new MemoryInbox();
    await fill(inbox, 3);
    const { records } = await drain(inbox, config(), { events: { inboxSeq: 3 } }, stream({}, 'full_refresh'));
    expect(records).toHaveLength(3);
  });

  it('stops after maxPerRun with a checkpoint, and the next run continues', async () => {
    const inbox = new MemoryInbox();
    await fill(inbox, 7);
    const a = await drain(inbox, config({ pageSize: 2, maxPerRun: 3 }));
    expect(a.records.map((r) => r.data.n)).toEqual([0, 1, 2]);
    expect(a.last).toEqual({ inboxSeq: 3 });
    const b = await drain(inbox, config({ pageSize: 2, maxPerRun: 3 }), { events: a.last });
    expect(b.records.map((r) => r.data.n)).toEqual([3, 4, 5]);
  });

  it('without an inbox (a one-off call), or with a state that is not { inboxSeq }, it says why', async () => {
    const ctx = testContext(config(), 'hooks');
    await expect(async () => {
      for await (const _ of webhookSource.read(ctx, [stream()], {})) void _;
    }).rejects.toThrow(/drains the store's inbox/);
    const inbox = new MemoryInbox();
    await expect(drain(inbox, config(), { events: { cursor: 'x' } })).rejects.toThrow(/has no inbox seq/);
  });
});

describe('webhook source: consent from a Brevo unsubscribe webhook', () => {
  const brevoStream = stream({ consentFrom: { field: 'event', withdraw: ['unsubscribed', 'hardBounce', 'spam'], grant: ['listAddition'] } });
  const mapping = mappingSchema.parse({ identifiers: { email: 'email' }, observedAt: 'date_event', consent: { email_marketing: 'consent' } });
  const { map } = compileMapping(mapping, {
    source: 'brevo-hooks', stream: 'events', kind: 'identify', primaryKey: ['_webhook.seq'], defaultRegion: 'US', now: () => '2026-12-01T12:00:00.000Z',
  });

  it('withdraws email_marketing for unsubscribed, grants it for listAddition, leaves it alone for other events', async () => {
    const inbox = new MemoryInbox();
    const at = '2026-12-01T11:00:00.000Z';
    await inbox.append(
      [
        { event: 'unsubscribed', email: 'ana@shop.test', date_event: '2026-12-01 10:15:00' },
        { event: 'listAddition', email: 'bo@shop.test' },
        { event: 'opened', email: 'cy@shop.test' },
        { event: 'hardBounce', email: 'di@shop.test' },
      ].map((body) => ({ source: 'hooks', stream: 'events', receivedAt: at, body })),
    );
    const { records } = await drain(inbox, config(), {}, brevoStream);
    const mapped = records.map((r) => map(r.data));
    const consent = mapped.map((m) => (m.ok ? [m.record.recordId, m.record.consent] : m.reason));
    expect(consent).toEqual([
      ['1', { email_marketing: false }],
      ['2', { email_marketing: true }],
      ['3', undefined],
      ['4', { email_marketing: false }],
    ]);
    // The stored body is kept as received: consentFrom is applied when draining.
    expect(inbox.rows[0].body).toEqual({ event: 'unsubscribed', email: 'ana@shop.test', date_event: '2026-12-01 10:15:00' });
  });
});

describe('webhook source: config', () => {
  it('is registered as the `webhook` source beside the destination', () => {
    expect(plugin.sources?.map((s) => s.id)).toEqual(['webhook']);
    expect(plugin.destinations?.map((d) => d.id)).toEqual(['webhook']);
    expect(webhookSource.spec.secrets).toEqual(['verify.secret', 'verify.token', 'verify.password']);
  });

  const refused = (value: unknown) => {
    const r = webhookSourceConfigSchema.safeParse(value);
    return r.success ? 'accepted' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  };

  it('refuses unknown schemes, bad whsec_ secrets and missing secrets with a message naming the field, never the secret', () => {
    expect(refused({ verify: { scheme: 'md5', secret: 'x' } })).toMatch(/verify.scheme: expected scheme: standard-webhooks, stripe, shopify/);
    expect(refused({})).toMatch(/^verify: /);
    const bad = refused({ verify: { scheme: 'standard-webhooks', secret: 'not-a-whsec-value' } });
    expect(bad).toMatch(/verify.secret: expected a Standard Webhooks secret/);
    expect(bad).not.toContain('not-a-whsec-value');
    expect(refused({ verify: { scheme: 'hmac-sha256', secret: 's3cret', header: 'bad header' } })).toMatch(/verify.header: expected a header name/);
    expect(refused({ verify: { scheme: 'basic', username: 'u' } })).toMatch(/verify.password/);
    expect(refused({ verify: { scheme: 'shopify', secret: 's', extra: 1 } })).toMatch(/extra/);
    expect(refused({ verify: { scheme: 'standard-webhooks', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } })).toBe('accepted');
  });

  it('takes one secret or a list of up to 3 (rotation), always a list after parsing; each whsec_ is checked', () => {
    const sw = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(webhookSourceConfigSchema.parse({ verify: { scheme: 'shopify', secret: 'one' } }).verify).toEqual({ scheme: 'shopify', secret: ['one'] });
    expect(webhookSourceConfigSchema.parse({ verify: { scheme: 'standard-webhooks', secret: [sw, sw] } }).verify).toMatchObject({ secret: [sw, sw] });
    expect(refused({ verify: { scheme: 'standard-webhooks', secret: [sw, 'whsec_!!'] } })).toMatch(/verify.secret.1: the part after whsec_ is not base64/);
    expect(refused({ verify: { scheme: 'stripe', secret: ['a', 'b', 'c', 'd'] } })).toMatch(/verify.secret: at most 3 secrets/);
    expect(refused({ verify: { scheme: 'stripe', secret: [] } })).toMatch(/verify.secret: expected at least one secret/);
    expect(refused({ verify: { scheme: 'shopify' } })).toMatch(/verify.secret: expected the shared secret, or a list of up to 3/);
    expect(refused({ verify: { scheme: 'shopify', secret: '' } })).toMatch(/verify.secret.0: expected the shared secret/);
  });

  it('refuses a consentFrom with nothing to withdraw or grant', () => {
    expect(webhookStreamConfigSchema.safeParse({ consentFrom: { field: 'event' } }).success).toBe(false);
  });

  it('check and inbound refuse more than one stream: one endpoint feeds one stream', async () => {
    const ctx = testContext(config(), 'hooks');
    const two = [stream(), { ...stream(), name: 'other' }];
    expect(await webhookSource.check(ctx, two)).toEqual({ ok: false, message: expect.stringMatching(/one stream at \/hooks\/hooks; got 2/) });
    expect(() => webhookSource.inbound!(ctx, two)).toThrow(/one stream/);
    expect(await webhookSource.check(ctx, [stream()])).toEqual({ ok: true });
  });
});
