import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const WRITE_KEY = 'wk_test_3f9a1c77e2';

/** The YAML mapping of each tracking stream, as the README shows it. */
export const trackingStreams = [
  {
    name: 'identify',
    primaryKey: 'messageId',
    mapping: {
      identifiers: { external_id: 'userId', anonymous_id: 'anonymousId', email: 'email' },
      traits: { firstName: 'traits.firstName', plan: 'traits.plan', ip: 'ip' },
      observedAt: 'timestamp',
      consent: { email_marketing: 'consent.marketing' },
    },
  },
  {
    name: 'track',
    kind: 'track',
    primaryKey: 'messageId',
    mapping: {
      identifiers: { external_id: 'userId', anonymous_id: 'anonymousId' },
      event: { nameField: 'event', properties: { sku: 'properties.sku', userAgent: 'userAgent' }, revenue: 'properties.revenue', currency: 'properties.currency' },
      observedAt: 'timestamp',
    },
  },
  {
    name: 'page',
    kind: 'track',
    primaryKey: 'messageId',
    mapping: {
      identifiers: { external_id: 'userId', anonymous_id: 'anonymousId' },
      event: { nameField: 'event', properties: { path: 'properties.path', url: 'page.url' } },
      observedAt: 'timestamp',
    },
  },
  {
    name: 'alias',
    primaryKey: 'messageId',
    mapping: { identifiers: { external_id: 'userId', anonymous_id: 'previousId' }, observedAt: 'timestamp' },
  },
];

const made: string[] = [];

/** Remove every folder `trackingConfig` made in this process (call it from afterAll). */
export function removeTrackingConfigs(): void {
  while (made.length) rmSync(made.pop()!, { recursive: true, force: true });
}

/** A config with one tracking source (`web`) and, optionally, more YAML on top. */
export function trackingConfig(extra: Record<string, unknown> = {}, sources: unknown[] = []): { dir: string; file: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), `trib-serve-${process.pid}-`));
  made.push(dir);
  const file = join(dir, 'tributary.yaml');
  const db = join(dir, 'store.db');
  const cfg = {
    store: { sqlite: db },
    sources: [{ name: 'web', connector: 'tracking', config: { writeKeys: ['${WEB_WRITE_KEY}'] }, streams: trackingStreams }, ...sources],
    resolution: { mergeOn: ['external_id', 'email', 'phone', 'anonymous_id'] },
    serve: { port: 0, flushMs: 2 },
    ...extra,
  };
  writeFileSync(file, stringify(cfg));
  return { dir, file, db };
}
