import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { boot, type Booted } from '../../container.js';
import { captureLogger } from '../../../test/kit/context.js';
import { fakeClock, recordingDestination } from './recording-destination.js';

export type Row = Record<string, unknown>;

/** A config with one inline source (customers, optional orders as track events) and one destination. */
export function deliveryConfig(rows: { customers: Row[]; orders?: Row[] }, dest: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), `trib-delivery-${process.pid}-`));
  const file = join(dir, 'tributary.yaml');
  const streams: unknown[] = [
    {
      name: 'customers',
      primaryKey: 'id',
      cursor: 'updated_at',
      mapping: { identifiers: { email: 'email', phone: 'phone' }, traits: { firstName: 'first', country: 'country' }, observedAt: 'updated_at', consent: { email_marketing: 'optin' } },
    },
  ];
  if (rows.orders) {
    streams.push({
      name: 'orders',
      kind: 'track',
      primaryKey: 'id',
      cursor: 'updated_at',
      mapping: { identifiers: { email: 'email' }, observedAt: 'updated_at', event: { name: 'order_completed', properties: { total: 'total' }, revenue: 'total' } },
    });
  }
  const cfg = {
    store: { sqlite: join(dir, 'store.db') },
    sources: [{ name: 'crm', connector: 'inline', config: { streams: rows, checkpointEvery: 100 }, streams }],
    resolution: { nameGuard: false },
    destinations: [{ name: 'out', connector: 'recording', trigger: 'manual', retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 5000 }, ...dest }],
    ...extra,
  };
  writeFileSync(file, stringify(cfg));
  return { dir, file };
}

export async function startDelivery(file: string, dest = recordingDestination(), clock = fakeClock()) {
  const logger = captureLogger();
  const b: Booted = await boot({ configFile: file, logger, clock, plugins: [dest.plugin] });
  return { ...b, dest, clock, logger };
}

export function customers(n: number, over: (i: number) => Row = () => ({})): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    id: String(i + 1),
    email: `user${i + 1}@shop.io`,
    phone: '',
    first: `Name${i + 1}`,
    country: i % 2 ? 'FR' : 'DE',
    optin: 'yes',
    updated_at: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`,
    ...over(i),
  }));
}
