import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { customers, deliveryConfig, startDelivery, type Row } from '../delivery/__fixtures__/harness.js';
import { fakeClock, recordingDestination } from '../delivery/__fixtures__/recording-destination.js';
import { loadConfigFile } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { eventDestinations, retentionTargets, runRetention } from './retention.js';

type Started = Awaited<ReturnType<typeof startDelivery>>;
const opened: Started[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

const NOW = new Date('2026-06-01T00:00:00Z');
const orders: Row[] = [
  { id: 'o1', email: 'user1@shop.io', total: 10, note: 'gift wrap for Ada', updated_at: '2024-01-01T00:00:00Z' },
  { id: 'o2', email: 'user1@shop.io', total: 20, note: 'leave at door', updated_at: '2025-01-01T00:00:00Z' },
  { id: 'o3', email: 'user1@shop.io', total: 5, note: 'none', updated_at: '2026-05-01T00:00:00Z' },
];

/** The harness config with computed traits, a retention on the orders stream and events on or off. */
function config(events: boolean, retention: unknown = { trackRecords: '400d' }) {
  const { file } = deliveryConfig({ customers: customers(2), orders }, { events });
  const cfg = parse(readFileSync(file, 'utf8'));
  cfg.resolution.computed = { orders: { op: 'count', event: 'order_completed' }, spent: { op: 'sum', property: 'revenue' } };
  cfg.sources[0].streams[1].retention = retention;
  cfg.sources[0].streams[1].mapping.event.properties.note = 'note';
  cfg.sources[0].streams[1].mode = 'full_refresh';
  writeFileSync(file, stringify(cfg));
  return file;
}

async function start(file: string) {
  const s = await startDelivery(file, recordingDestination(), fakeClock());
  opened.push(s);
  return s;
}

describe('retention', () => {
  it('expires track records past the retention: raw data deleted, their contribution to computed traits kept, also through a re-read', async () => {
    const file = config(false);
    const s = await start(file);
    expect((await s.engine.runSync('crm', { deliverAfter: false })).ok).toBe(true);
    const id = (await s.store.lookupIdentifiers(['email\u0000user1@shop.io'])).get('email\u0000user1@shop.io')!;
    const before = await s.store.profileDocument(id);
    expect(before!.computed).toMatchObject({ orders: 3, spent: 35 });

    const targets = retentionTargets(s.loaded.config, NOW);
    expect(targets).toEqual([{ source: 'crm', stream: 'orders', keep: '400d', before: '2025-04-27T00:00:00.000Z' }]);
    const run = (dryRun = false) => runRetention(s.store, targets, { eventDestinations: [], computed: s.loaded.config.resolution.computed, dryRun });
    expect(await run(true)).toMatchObject([{ expired: 2 }]);
    expect(JSON.stringify(await s.store.recordsOfProfiles([id]))).toContain('gift wrap for Ada');
    expect(await run()).toMatchObject([{ expired: 2 }]);
    const track = (await s.store.recordsOfProfiles([id])).filter((r) => r.kind === 'track');
    const o1 = track.find((r) => r.recordId === 'o1')!;
    expect(o1.event).toEqual({ name: 'order_completed', properties: {}, revenue: 10 });
    expect(JSON.stringify(track)).not.toContain('gift wrap');
    expect(track.find((r) => r.recordId === 'o3')!.event!.properties).toMatchObject({ note: 'none' });
    expect((await s.store.profileDocument(id))!.computed).toEqual(before!.computed);
    expect(await run()).toMatchObject([{ expired: 0 }]);
    // A full-refresh read recomputes the profile from its stored records: the expired ones still count.
    const again = await s.engine.runSync('crm', { deliverAfter: false });
    expect(again.ok).toBe(true);
    expect((await s.store.profileDocument(id))!.computed).toMatchObject({ orders: 3, spent: 35 });
  });

  it('keeps old track records an events destination has not sent yet', async () => {
    const s = await start(config(true));
    await s.engine.runSync('crm', { deliverAfter: false });
    const targets = retentionTargets(s.loaded.config, NOW);
    expect(eventDestinations(s.loaded.config)).toEqual(['out']);
    expect(await runRetention(s.store, targets, { eventDestinations: ['out'] })).toMatchObject([{ expired: 0 }]);
    await s.engine.deliverTo('out');
    expect(await runRetention(s.store, targets, { eventDestinations: ['out'] })).toMatchObject([{ expired: 2 }]);
  });

  it('a retention that is not a duration is refused at load, naming the YAML line', async () => {
    const file = config(false, { trackRecords: '400 days' });
    let err: unknown;
    try {
      loadConfigFile(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const c = err as ConfigError;
    expect(c.message).toMatch(/^sources\[0\]\.streams\[1\]\.retention\.trackRecords: expected a duration such as 400d/);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[c.context.line! - 1]).toMatch(/trackRecords: 400 days/);
  });
});
