import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { customers, deliveryConfig, startDelivery, type Row } from './__fixtures__/harness.js';
import { fakeClock, recordingDestination } from './__fixtures__/recording-destination.js';
import type { DeliveryCounts } from '../store/types.js';

type Started = Awaited<ReturnType<typeof startDelivery>>;
const opened: Started[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

async function start(file: string, dest = recordingDestination(), clock = fakeClock()) {
  const s = await startDelivery(file, dest, clock);
  opened.push(s);
  return s;
}

/** Replace the inline source's rows in the YAML (the next boot reads them). */
function setRows(file: string, rows: { customers: Row[]; orders?: Row[] }) {
  const cfg = parse(readFileSync(file, 'utf8'));
  cfg.sources[0].config.streams = rows;
  cfg.sources[0].streams[0].mode = 'full_refresh';
  writeFileSync(file, stringify(cfg));
}

async function syncAndDeliver(s: Started, name = 'out'): Promise<DeliveryCounts> {
  const out = await s.engine.runSync('crm', { deliverAfter: false });
  expect(out.ok, out.error).toBe(true);
  return s.engine.deliverTo(name);
}

describe('delivery: only what changed', () => {
  it('sends every profile once, then nothing after a sync that changed nothing, then only the changed one', async () => {
    const rows = customers(6);
    const { file } = deliveryConfig({ customers: rows }, {});
    setRows(file, { customers: rows });
    const s = await start(file);
    const first = await syncAndDeliver(s);
    expect(first).toMatchObject({ delivered: 6, unchanged: 0, failed: 0 });
    expect(s.dest.held.size).toBe(6);
    const calls = s.dest.calls.length;

    // Full refresh reads every row again and touches every profile: nothing changed, so nothing is sent.
    const again = await syncAndDeliver(s);
    expect(again).toMatchObject({ delivered: 0, unchanged: 6, requests: 0 });
    expect(s.dest.calls.length).toBe(calls);

    await s.close();
    opened.pop();
    rows[2] = { ...rows[2], first: 'Renamed' };
    setRows(file, { customers: rows });
    const s2 = await start(file, s.dest);
    const third = await syncAndDeliver(s2);
    expect(third).toMatchObject({ delivered: 1, unchanged: 5 });
    expect(s.dest.calls.at(-1)!.map((i) => i.profile!.traits.firstName)).toEqual(['Renamed']);
  });

  it('a destination added to a store that already has profiles gets all of them on its first delivery', async () => {
    const { file } = deliveryConfig({ customers: customers(4) }, {});
    const cfg = parse(readFileSync(file, 'utf8'));
    const withDest = stringify(cfg);
    writeFileSync(file, stringify({ ...cfg, destinations: [] }));
    const before = await start(file);
    await before.engine.runSync('crm', { deliverAfter: false });
    await before.close();
    opened.pop();
    writeFileSync(file, withDest);
    const s = await start(file);
    expect(await s.store.delivery.backlog('out')).toBe(0);
    const fresh = await s.engine.deliverTo('out');
    expect(fresh.delivered).toBe(4);
    expect(s.dest.held.size).toBe(4);
    const full = await s.engine.deliverTo('out', undefined, { full: true });
    expect(full).toMatchObject({ delivered: 0, unchanged: 4 });
    const resend = await s.engine.deliverTo('out', undefined, { full: true, resend: true });
    expect(resend).toMatchObject({ delivered: 4, unchanged: 0 });
  });
});

describe('delivery: payload mapping and where', () => {
  it('sends the mapped payload and hashes only what is mapped', async () => {
    const rows = customers(3);
    const { file } = deliveryConfig({ customers: rows }, { mapping: { FIRSTNAME: 'traits.firstName', EMAIL: 'identifiers.email', EMAIL_SHA: 'sha256(identifiers.email)' } });
    const s = await start(file);
    await syncAndDeliver(s);
    const sent = s.dest.calls.flat()[0];
    expect(sent.payload).toEqual({
      FIRSTNAME: sent.profile!.traits.firstName,
      EMAIL: sent.profile!.traits.email,
      EMAIL_SHA: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // A trait that is not mapped changes: the payload does not, so nothing is sent.
    await s.close();
    opened.pop();
    setRows(file, { customers: rows.map((r) => ({ ...r, country: 'IT' })) });
    const s2 = await start(file, s.dest);
    expect(await syncAndDeliver(s2)).toMatchObject({ delivered: 0, unchanged: 3 });
  });

  it('a profile that stops matching is deleted there (onUnmatch: delete) and left alone with keep', async () => {
    for (const onUnmatch of ['delete', 'keep'] as const) {
      const rows = customers(4);
      const { file } = deliveryConfig({ customers: rows }, { where: 'traits.country = "FR" and consent.email_marketing', onUnmatch });
      const s = await start(file);
      expect(await syncAndDeliver(s)).toMatchObject({ delivered: 2, filtered: 2 });
      await s.close();
      opened.pop();
      rows[1] = { ...rows[1], optin: 'no' }; // FR, now withdrawn
      setRows(file, { customers: rows });
      const s2 = await start(file, s.dest);
      const c = await syncAndDeliver(s2);
      if (onUnmatch === 'delete') {
        expect(c).toMatchObject({ deleted: 1 });
        expect(s.dest.held.size).toBe(1);
        expect(s.dest.calls.at(-1)![0]).toMatchObject({ op: 'delete', reason: 'unmatched', previous: { ref: expect.any(String) } });
      } else {
        expect(c.deleted).toBe(0);
        expect(s.dest.held.size).toBe(2);
      }
    }
  });
});

describe('delivery: merges follow', () => {
  it('deletes the absorbed profile there and writes the survivor, deletes first', async () => {
    const rows = customers(2, (i) => ({ phone: i === 0 ? '+14155552671' : '', email: i === 0 ? 'ann@shop.io' : 'annie@work.io' }));
    const { file } = deliveryConfig({ customers: rows }, {});
    const s = await start(file);
    await syncAndDeliver(s);
    expect(s.dest.held.size).toBe(2);
    await s.close();
    opened.pop();
    // A third record carries both emails: the two profiles merge.
    setRows(file, { customers: [...rows, { ...rows[1], id: '3', email: 'annie@work.io', phone: '+14155552671', updated_at: '2026-01-02T00:00:00Z' }] });
    const s2 = await start(file, s.dest);
    const c = await syncAndDeliver(s2);
    expect(await s2.store.countProfiles()).toBe(1);
    // Deletes go first, in a write of their own, settled before any upsert is sent.
    const batch = s.dest.calls.slice(-2).flat();
    expect(s.dest.calls.slice(-2).map((b) => b.map((i) => i.op))).toEqual([['delete'], ['upsert']]);
    expect(batch[0]).toMatchObject({ reason: 'merged', survivor: batch[1].key });
    expect(batch[1].mergedFrom).toEqual([batch[0].key]);
    expect(c).toMatchObject({ deleted: 1, delivered: 2 });
    expect([...s.dest.held.keys()]).toEqual([batch[1].key]);
  });

  it('does not delete the absorbed one when it is the same record there (same ref); the survivor carries its old ref', async () => {
    const rows = customers(2, (i) => ({ phone: i === 0 ? '+14155552671' : '', email: i === 0 ? 'a@shop.io' : 'b@shop.io' }));
    const dest = recordingDestination({ keyBy: 'email' });
    const { file } = deliveryConfig({ customers: rows }, {});
    const s = await start(file, dest);
    await syncAndDeliver(s);
    expect([...dest.held.keys()].sort()).toEqual(['email:a@shop.io', 'email:b@shop.io']);
    await s.close();
    opened.pop();
    // The newest record links both: the survivor's email (most recent) becomes b@, the absorbed one's record there.
    setRows(file, { customers: [...rows, { ...rows[1], id: '3', phone: '+14155552671', updated_at: '2026-01-05T00:00:00Z' }] });
    const s2 = await start(file, dest);
    await syncAndDeliver(s2);
    expect(await s2.store.countProfiles()).toBe(1);
    const last = dest.calls.at(-1)!;
    expect(last.map((i) => i.op)).toEqual(['upsert']);
    expect(last[0]).toMatchObject({ mergedFrom: [expect.any(String)], previous: { ref: 'email:a@shop.io' } });
    expect(await s2.store.delivery.delivered('out', last[0].mergedFrom!)).toEqual(new Map());
  });

  it('an entry whose delete keeps failing is not acknowledged even when its upsert went through', async () => {
    const rows = customers(2, (i) => ({ phone: i === 0 ? '+14155552671' : '', email: i === 0 ? 'ann@shop.io' : 'annie@work.io' }));
    const { file } = deliveryConfig({ customers: rows }, { retry: { attempts: 2, initialDelayMs: 1 } });
    const s = await start(file);
    await syncAndDeliver(s);
    await s.close();
    opened.pop();
    setRows(file, { customers: [...rows, { ...rows[1], id: '3', phone: '+14155552671', updated_at: '2026-01-02T00:00:00Z' }] });
    const s2 = await start(file, s.dest);
    await s2.engine.runSync('crm', { deliverAfter: false });
    const fail = (i: { op: string }) => (i.op === 'delete' ? { status: 'retryable' as const, reason: 'HTTP 503' } : { status: 'ok' as const });
    s.dest.script.push(fail, fail);
    await expect(s2.engine.deliverTo('out')).rejects.toThrow(/still failing/);
    expect(await s2.store.delivery.backlog('out')).toBe(1);
    // Next run: the upsert is unchanged now, only the delete goes out.
    const c = await s2.engine.deliverTo('out');
    expect(c).toMatchObject({ deleted: 1, unchanged: 1 });
    expect(s.dest.held.size).toBe(1);
  });
});
