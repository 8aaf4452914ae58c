import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigText } from '../../core/config/load.js';
import { configuredStreams, parsePluginConfig } from '../../core/engine/plugin-config.js';
import type { ConfiguredStream, RecordMessage } from '../../core/plugin/types.js';
import { compileBlocklist } from '../../core/resolution/rules.js';
import { compileMapping } from '../../core/schema/mapping.js';
import { captureLogger, countingMetrics } from '../../test/kit/context.js';
import { startInboundHarness } from './__fixtures__/inbound-http.js';
import { MemoryInbox } from './__fixtures__/memory-inbox.js';
import type { WebhookSourceConfig, WebhookStreamConfig } from './inbound-config.js';
import { webhookSource } from './inbound-source.js';

// The README's "Inbound webhooks (source)" examples, run as written: the YAML
// through the config loader and the engine's plugin-config path, the shell
// commands with bash, openssl and curl against the node:http harness.

const run = promisify(execFile);
const README = readFileSync(new URL('./README.md', import.meta.url), 'utf8');

/** The fenced block right after `<!-- readme-test: NAME -->`. */
function block(name: string): string {
  const m = new RegExp(`<!-- readme-test: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\\n\`\`\``).exec(README);
  if (!m) throw new Error(`README has no block ${name}`);
  return m[1];
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function example(yamlName: string, env: Record<string, string>) {
  const loaded = loadConfigText(block(yamlName), 'README.md', { env });
  const source = loaded.config.sources[0];
  const config = parsePluginConfig(webhookSource.spec.config, source.config, ['sources', 0, 'config'], loaded, source.name) as WebhookSourceConfig;
  const streams = configuredStreams(webhookSource, source, 0, loaded) as ConfiguredStream<WebhookStreamConfig>[];
  const inbox = new MemoryInbox();
  const ctx = { name: source.name, config, logger: captureLogger(), metrics: countingMetrics(), signal: new AbortController().signal };
  const h = await startInboundHarness(webhookSource.inbound!(ctx, streams), inbox);
  closers.push(h.close);
  const sh = async (script: string) => (await run('bash', ['-euo', 'pipefail', '-c', script], { env: { PATH: process.env.PATH, TRIBUTARY_URL: h.url, ...env } })).stdout;
  const drainAndMap = async () => {
    const records: RecordMessage[] = [];
    for await (const m of webhookSource.read({ ...ctx, inbox }, streams, {})) if (m.type === 'record') records.push(m);
    const s = source.streams[0];
    const { map } = compileMapping(s.mapping, {
      source: source.name, stream: s.name, kind: s.kind, primaryKey: streams[0].primaryKey!, defaultRegion: 'US',
      now: () => '2026-12-01T12:00:00.000Z', blocked: compileBlocklist(loaded.config.resolution),
    });
    return records.map((r) => map(r.data));
  };
  return { inbox, sh, drainAndMap, logger: ctx.logger };
}

describe('README: inbound webhook examples', () => {
  it('Shopify orders: the signed curl is accepted once, then a duplicate, and maps to an order_completed event', async () => {
    const secret = 'shpss_readme_example_secret';
    const ex = await example('shopify-yaml', { SHOPIFY_WEBHOOK_SECRET: secret });
    expect(await ex.sh(block('shopify-sh'))).toBe('{"accepted":1,"duplicates":0}');
    expect(await ex.sh(block('shopify-sh'))).toBe('{"accepted":0,"duplicates":1}');
    expect(await ex.sh(`SHOPIFY_WEBHOOK_SECRET=wrong\n${block('shopify-sh')}`)).toBe('{"error":"X-Shopify-Hmac-SHA256 does not match"}');
    expect(ex.inbox.rows.map((r) => r.dedupKey)).toEqual(['b54557e4-bdd9-4b37-8a5f-bf7d70bcd043']);
    const [m] = await ex.drainAndMap();
    if (!m.ok) throw new Error(m.reason);
    expect(m.record.recordId).toBe('5123456789012');
    expect(m.record.identifiers.map((i) => [i.type, i.namespace, i.value])).toEqual(
      expect.arrayContaining([['email', undefined, 'jon@fjordpost.no'], ['external_id', 'shopify', '7012345678901']]),
    );
    expect(m.record.event).toMatchObject({ name: 'order_completed', revenue: 49.9, currency: 'EUR' });
    expect(m.record.observedAt).toBe('2026-11-30T12:00:00.000Z');
    expect(JSON.stringify(ex.logger.entries)).not.toContain(secret);
  });

  it('Brevo unsubscribe: the curl with the bearer token withdraws email_marketing', async () => {
    const token = 'brevo-readme-token-7';
    const ex = await example('brevo-yaml', { BREVO_WEBHOOK_TOKEN: token });
    expect(await ex.sh(block('brevo-sh'))).toBe('{"accepted":1,"duplicates":0}');
    expect(await ex.sh(`BREVO_WEBHOOK_TOKEN=nope\n${block('brevo-sh')}`)).toBe('{"error":"bearer token does not match"}');
    const [m] = await ex.drainAndMap();
    if (!m.ok) throw new Error(m.reason);
    expect(m.record.consent).toEqual({ email_marketing: false });
    expect(m.record.identifiers.map((i) => i.value)).toEqual(['ana@fjordpost.no']);
    expect(m.record.observedAt).toBe('2025-12-01T10:00:00.000Z');
  });
});
