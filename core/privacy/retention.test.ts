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
  { id: 'o1', email: 'user1@shop.io', total: 10, updated_at: '2024-01-01T00:00:00Z' },
  { id: 'o2', email: 'user1@shop.io', total: 20, updated_at: '2025-01-01T00:00:00Z' },
  { id: 'o3', email: 'user1@shop.io', total: 5, updated_at: '2026-05-01T00:00:00Z' },
];

/** The harness config with computed traits, a retention on the orders stream and events on or off. */
function config(events: boolean, retention: unknown = { trackRecords: '400d' }) {
  const { file } = deliveryConfig({ customers: customers(2), orders }, { events });
  const cfg = parse(readFileSync(file, 'utf8'));
  cfg.resolution.computed = { orders: { op: 'count', event: 'order_completed' }, spent: { op: 'sum', property: 'revenue' } };
  cfg.sources[0].streams[1].retention = retention;
  writeFileSync(file, stringify(cfg));
  return file;
}

async function start(file: string) {
  const s = await startDelivery(file, recordingDestination(), fakeClock());
  opened.push(s);
  return s;
}

describe('retention', () => {
  it('deletes track records past the retention and keeps their contribution to computed traits', async () => {
    const s = await start(config(false));
    expect((await s.engine.runSync('crm', { deliverAfter: false })).ok).toBe(true);
    const id = (await s.store.lookupIdentifiers(['email\u0000user1@shop.io'])).get('email\u0000user1@shop.io')!;
    const before = await s.store.profileDocument(id);
    expect(before!.computed).toMatchObject({ orders: 3, spent: 35 });

    const targets = retentionTargets(s.loaded.config, NOW);
    expect(targets).toEqual([{ source: 'crm', stream: 'orders', keep: '400d', before: '2025-04-27T00:00:00.000Z' }]);
    expect(await runRetention(s.store, targets, { eventDestinations: [], dryRun: true })).toMatchObject([{ deleted: 2 }]);
    expect((await s.store.recordsOfProfiles([id])).filter((r) => r.kind === 'track')).toHaveLength(3);
    expect(await runRetention(s.store, targets, { eventDestinations: [] })).toMatchObject([{ deleted: 2 }]);
    const left = (await s.store.recordsOfProfiles([id])).filter((r) => r.kind === 'track');
    expect(left.map((r) => r.recordId)).toEqual(['o3']);
    expect((await s.store.profileDocument(id))!.computed).toEqual(before!.computed);
    // A later event still adds to what the deleted ones left.
    expect(await runRetention(s.store, targets, { eventDestinations: [] })).toMatchObject([{ deleted: 0 }]);
  });

  it('keeps old track records an events destination has not sent yet', async () => {
    const s = await start(config(true));
    await s.engine.runSync('crm', { deliverAfter: false });
    const targets = retentionTargets(s.loaded.config, NOW);
    expect(eventDestinations(s.loaded.config)).toEqual(['out']);
    expect(await runRetention(s.store, targets, { eventDestinations: ['out'] })).toMatchObject([{ deleted: 0 }]);
    await s.engine.deliverTo('out');
    expect(await runRetention(s.store, targets, { eventDestinations: ['out'] })).toMatchObject([{ deleted: 2 }]);
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
