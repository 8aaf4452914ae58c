import { afterAll, afterEach, describe, expect, it } from 'vitest';
import Analytics from '@rudderstack/rudder-sdk-node';
import { boot, type Booted } from '../container.js';
import { captureLogger } from '../../test/kit/context.js';
import { buildServer } from './setup.js';
import { WRITE_KEY, removeTrackingConfigs, trackingConfig } from './__fixtures__/tracking-config.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import type { ProfileDocument } from '../plugin/types.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (open.length) await open.pop()!();
});

async function serve() {
  const { file } = trackingConfig();
  const logger = captureLogger();
  const booted: Booted = await boot({ configFile: file, logger, env: { ...process.env, WEB_WRITE_KEY: WRITE_KEY } });
  const server = buildServer(booted.loaded, booted.registry, logger);
  const { port } = await server.listen(0, '127.0.0.1');
  open.push(() => booted.close(), () => server.close());
  // The real SDK, gzip on (its default), one batch per flush.
  const client = new Analytics(WRITE_KEY, { dataPlaneUrl: `http://127.0.0.1:${port}`, flushAt: 100, flushInterval: 60_000, logLevel: 'error' });
  return { booted, client, store: booted.store as SqliteStore };
}

/** The SDK sends its first message alone, the rest on flush: wait until nothing is queued or in flight. */
async function drained(client: Analytics): Promise<void> {
  for (let i = 0; i < 3; i++) await client.flush();
}

async function allProfiles(store: SqliteStore): Promise<ProfileDocument[]> {
  const out: ProfileDocument[] = [];
  for await (const page of store.iterateProfiles(100)) out.push(...page);
  return out;
}

const ids = (p: ProfileDocument, type: string) => p.identifiers.filter((i) => i.type === type).map((i) => i.value).sort();

afterAll(removeTrackingConfigs);

describe('tracking API with @rudderstack/rudder-sdk-node', () => {
  it('identify, track, page and alias become one stitched profile and its events after the drain; a retried batch is stored once', async () => {
    const { booted, client, store } = await serve();
    client.page({ anonymousId: 'anon-1', name: 'Pricing', properties: { path: '/pricing' }, context: { page: { url: 'https://shop.acme-shop.io/pricing' }, ip: '203.0.113.9' } });
    client.page({ anonymousId: 'anon-2', name: 'Home', properties: { path: '/' } });
    client.identify({
      userId: 'user-1',
      anonymousId: 'anon-1',
      traits: { email: 'Ann@Acme-Shop.io', firstName: 'Ann', plan: 'pro' },
      context: { ip: '203.0.113.9', consent: { categoryPreferences: { marketing: true } } },
    });
    client.track({ userId: 'user-1', event: 'Order Completed', properties: { sku: 'SKU-9', revenue: 42.5, currency: 'eur' }, context: { userAgent: 'Mozilla/5.0 test' } });
    client.alias({ userId: 'user-1', previousId: 'anon-2' });
    await drained(client);
    const stored = await store.inbox.read('web', { afterSeq: 0, limit: 100 });
    expect(stored.map((r) => r.stream).sort()).toEqual(['alias', 'identify', 'page', 'page', 'track']);

    const outcome = await booted.engine.runSync('web');
    expect(outcome.ok).toBe(true);
    const profiles = await allProfiles(store);
    expect(profiles).toHaveLength(1);
    const p = profiles[0];
    expect(ids(p, 'external_id')).toEqual(['user-1']);
    expect(ids(p, 'anonymous_id')).toEqual(['anon-1', 'anon-2']);
    expect(ids(p, 'email')).toEqual(['ann@acme-shop.io']);
    expect(p.traits).toMatchObject({ firstName: 'Ann', plan: 'pro', ip: '203.0.113.9', consent: { email_marketing: true } });
    expect(p.records.map((r) => r.stream).sort()).toEqual(['alias', 'identify', 'page', 'page', 'track']);
    const records = await store.recordsOfProfiles([p.id]);
    const tracked = records.find((r) => r.stream === 'track')!;
    expect(tracked.event).toMatchObject({ name: 'Order Completed', properties: { sku: 'SKU-9', userAgent: 'Mozilla/5.0 test' }, revenue: 42.5, currency: 'EUR' });
    const pricing = records.find((r) => r.event?.name === 'Pricing')!;
    expect(pricing.event!.properties).toMatchObject({ path: '/pricing', url: 'https://shop.acme-shop.io/pricing' });
    // The drain deleted what it committed, and its checkpoint skips the rest.
    expect(await store.inbox.read('web', { afterSeq: 0, limit: 100 })).toEqual([]);
    expect(await booted.engine.runSync('web')).toMatchObject({ ok: true, summary: { streams: { track: { read: 0 } } } });

    // A client that retries (same messageId) after the drain: stored once, not again.
    const order = stored.find((r) => r.stream === 'track')!;
    // The SDK's types omit messageId, but it sends a caller's messageId as given (that is what a retry is).
    client.track({ userId: 'user-1', event: 'Order Completed', messageId: order.dedupKey } as Parameters<typeof client.track>[0]);
    await drained(client);
    expect(await store.inbox.read('web', { afterSeq: 0, limit: 100 })).toEqual([]);
  });

  it('a shared anonymousId (a kiosk) presented by many users stops linking them', async () => {
    const { booted, client, store } = await serve();
    for (const u of ['k1', 'k2', 'k3', 'k4', 'k5']) client.identify({ userId: u, anonymousId: 'kiosk-7', traits: { firstName: u } });
    await drained(client);
    expect((await booted.engine.runSync('web')).ok).toBe(true);
    const profiles = await allProfiles(store);
    const users = profiles.map((p) => ids(p, 'external_id')).filter((x) => x.length);
    // Never all five in one profile: once kiosk-7 is generic, it links nobody else.
    expect(Math.max(...users.map((u) => u.length))).toBeLessThanOrEqual(1);
    expect(users.flat().sort()).toEqual(['k1', 'k2', 'k3', 'k4', 'k5']);
  });
});
