import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { boot, type Booted } from '../core/container.js';
import { buildServer } from '../core/serve/setup.js';
import type { TributaryServer } from '../core/serve/server.js';
import { captureLogger } from './kit/context.js';
import { customers, deliveryConfig } from '../core/delivery/__fixtures__/harness.js';
import { startBrevoServer, type BrevoServer } from '../connectors/brevo/__fixtures__/brevo-server.js';
import { definePlugin } from '../core/plugin/define-plugin.js';
import { PLUGIN_API_VERSION } from '../core/plugin/types.js';
import { inlineSource } from './kit/inline-source.js';

/**
 * Issue 12's consent path end to end, across the pieces that push, store and
 * deliver: a Brevo unsubscribe webhook arrives at `tributary serve`, the next
 * sync of the webhook source withdraws `email_marketing`, and the next delivery
 * to a Brevo destination with that purpose blocklists the contact and sends
 * nothing else.
 */

const TOKEN = 'brevo-hook-token-7f3e9a';
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** The CRM source of the delivery harness plus the webhook source of connectors/webhook/README.md. */
function config(brevo: BrevoServer): string {
  const rows = customers(2);
  const { file } = deliveryConfig(
    { customers: rows },
    { connector: 'brevo', purpose: 'email_marketing', config: { apiKey: brevo.apiKey, baseUrl: brevo.url, timeoutMs: 5000 } },
  );
  const cfg = parse(readFileSync(file, 'utf8'));
  cfg.sources[0].streams[0].mode = 'full_refresh';
  cfg.sources.push({
    name: 'brevo-events',
    connector: 'webhook',
    config: { verify: { scheme: 'bearer', token: '${BREVO_HOOK_TOKEN}' } },
    streams: [
      {
        name: 'marketing',
        primaryKey: '_webhook.seq',
        config: { consentFrom: { field: 'event', withdraw: ['unsubscribed'] } },
        mapping: { identifiers: { email: 'email' }, observedAt: 'date', consent: { email_marketing: 'consent' } },
      },
    ],
  });
  writeFileSync(file, stringify(cfg));
  return file;
}

/** One process's worth, as the CLI boots it. */
async function booted(file: string): Promise<Booted> {
  const inline = definePlugin({ name: 'inline-test', version: '0.0.0', apiVersion: PLUGIN_API_VERSION, sources: [inlineSource] });
  const b = await boot({ configFile: file, logger: captureLogger(), env: { ...process.env, BREVO_HOOK_TOKEN: TOKEN }, plugins: [inline] });
  closers.push(() => b.close());
  return b;
}

describe('a Brevo unsubscribe webhook withdraws consent at Brevo', () => {
  it('serve stores it, the sync withdraws email_marketing, the delivery blocklists the contact and sends nothing else', async () => {
    const brevo = await startBrevoServer();
    closers.push(() => brevo.close());
    const file = config(brevo);

    const first = await booted(file);
    const crm = await first.engine.runSync('crm', { deliverAfter: false });
    expect(crm.ok, crm.error).toBe(true);
    expect(await first.engine.deliverTo('out')).toMatchObject({ delivered: 2, failed: 0 });
    expect(brevo.contactByEmail('user1@shop.io')?.emailBlacklisted).toBe(false);

    // The webhook, as Brevo sends it, to a running server (bearer token; a wrong one stores nothing).
    const server: TributaryServer = buildServer(first.loaded, first.registry, captureLogger());
    const { port } = await server.listen(0, '127.0.0.1');
    closers.push(() => server.close());
    const hook = (token: string) =>
      fetch(`http://127.0.0.1:${port}/hooks/brevo-events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ event: 'unsubscribed', email: 'USER1@shop.io', id: 991, date: '2026-03-01T09:00:00Z' }),
      });
    expect((await hook('not-the-token')).status).toBe(401);
    expect((await hook(TOKEN)).status).toBe(200);

    const mark = brevo.requests.length;
    const drained = await first.engine.runSync('brevo-events', { deliverAfter: false });
    expect(drained.ok, drained.error).toBe(true);
    expect(drained.summary!.streams.marketing).toMatchObject({ read: 1 });
    const counts = await first.engine.deliverTo('out');
    expect(counts).toMatchObject({ withdrawn: 1, failed: 0 });
    const sent = brevo.requests.slice(mark).filter((r) => r.path !== '/v3/account');
    expect(sent.map((r) => [r.method, r.path, r.body])).toEqual([['PUT', '/v3/contacts/user1%40shop.io', { emailBlacklisted: true }]]);
    expect(brevo.contactByEmail('user1@shop.io')?.emailBlacklisted).toBe(true);
    expect(brevo.contactByEmail('user2@shop.io')?.emailBlacklisted).toBe(false);

    // The CRM still says yes with an older date: the newer withdrawal stands, nothing is sent again.
    const again = brevo.requests.length;
    expect((await first.engine.runSync('crm', { deliverAfter: false })).ok).toBe(true);
    const quiet = await first.engine.deliverTo('out');
    expect(quiet, JSON.stringify(quiet)).toMatchObject({ delivered: 0, failed: 0 });
    expect(quiet.withdrawn ?? 0).toBe(0);
    expect(brevo.requests.slice(again).filter((r) => r.path !== '/v3/account')).toEqual([]);
    // explain names the webhook as where the withdrawal came from.
    const owner = (await first.store.lookupIdentifiers(['email\u0000user1@shop.io'])).get('email\u0000user1@shop.io')!;
    expect(JSON.stringify(await first.store.explain(owner))).toMatch(/brevo-events/);
  });
});
