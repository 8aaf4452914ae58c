import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { customers, deliveryConfig, startDelivery, type Row } from './__fixtures__/harness.js';
import { recordingDestination } from './__fixtures__/recording-destination.js';

type Started = Awaited<ReturnType<typeof startDelivery>>;
const opened: Started[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

function setRows(file: string, rows: Row[]) {
  const cfg = parse(readFileSync(file, 'utf8'));
  cfg.sources[0].config.streams = { customers: rows };
  cfg.sources[0].streams[0].mode = 'full_refresh';
  writeFileSync(file, stringify(cfg));
}

async function run(file: string, dest: ReturnType<typeof recordingDestination>) {
  const s = await startDelivery(file, dest);
  opened.push(s);
  const out = await s.engine.runSync('crm', { deliverAfter: false });
  expect(out.ok, out.error).toBe(true);
  const pendingBefore = await s.store.delivery.withdrawalStatus('out', 'email_marketing');
  const counts = await s.engine.deliverTo('out');
  const after = await s.store.delivery.withdrawalStatus('out', 'email_marketing');
  await s.close();
  opened.pop();
  return { counts, pendingBefore, after };
}

const emailOf = (item: { profile?: { traits: Record<string, unknown> } }) => item.profile?.traits.email;

describe('destinations with a purpose', () => {
  it('sends only profiles with a grant: a withdrawal or no statement at all is never sent', async () => {
    const rows = customers(3, (i) => ({ optin: ['yes', 'no', ''][i] }));
    const { file } = deliveryConfig({ customers: rows }, { purpose: 'email_marketing' });
    setRows(file, rows);
    const dest = recordingDestination({ withdraw: 'mark' });
    const { counts } = await run(file, dest);
    expect(counts).toMatchObject({ delivered: 1, withheld: 2 });
    expect(dest.calls.flat().map(emailOf)).toEqual(['user1@shop.io']);
  });

  it('a later withdrawal is withdrawn at a mark destination once, and a new grant sends the profile again', async () => {
    const rows = customers(3);
    const { file } = deliveryConfig({ customers: rows }, { purpose: 'email_marketing' });
    setRows(file, rows);
    const dest = recordingDestination({ withdraw: 'mark' });
    expect((await run(file, dest)).counts).toMatchObject({ delivered: 3 });

    // user2 says no in a later record: the next delivery withdraws user2 and nothing else.
    rows[1] = { ...rows[1], optin: 'no', updated_at: '2026-02-01T00:00:00Z' };
    setRows(file, rows);
    const calls = dest.calls.length;
    const second = await run(file, dest);
    expect(second.pendingBefore).toEqual({ pending: 1, withdrawn: 0 });
    expect(second.counts).toMatchObject({ withdrawn: 1, withheld: 1, delivered: 1 });
    const sent = dest.calls.slice(calls).flat();
    expect(sent.map((i) => [i.op, i.reason, i.purpose, emailOf(i)])).toEqual([['withdraw', 'consent_withdrawn', 'email_marketing', 'user2@shop.io']]);
    expect(second.after).toEqual({ pending: 0, withdrawn: 1 });

    // Nothing changed: it is not withdrawn again.
    const third = await run(file, dest);
    expect(third.counts).toMatchObject({ delivered: 0, withheld: 1 });
    expect(third.counts.withdrawn ?? 0).toBe(0);

    // Granted again later: sent again as an upsert.
    rows[1] = { ...rows[1], optin: 'yes', updated_at: '2026-03-01T00:00:00Z' };
    setRows(file, rows);
    const before = dest.calls.length;
    const fourth = await run(file, dest);
    expect(fourth.counts).toMatchObject({ delivered: 1 });
    expect(dest.calls.slice(before).flat().map((i) => [i.op, emailOf(i)])).toEqual([['upsert', 'user2@shop.io']]);
    expect(fourth.after).toEqual({ pending: 0, withdrawn: 0 });
  });

  it('a destination that withdraws by deleting gets a delete with the reason; the row is forgotten', async () => {
    const rows = customers(2);
    const { file } = deliveryConfig({ customers: rows }, { purpose: 'email_marketing' });
    setRows(file, rows);
    const dest = recordingDestination();
    await run(file, dest);
    expect(dest.held.size).toBe(2);
    rows[0] = { ...rows[0], optin: 'false', updated_at: '2026-02-01T00:00:00Z' };
    setRows(file, rows);
    const { counts, after } = await run(file, dest);
    expect(counts).toMatchObject({ withdrawn: 1, deleted: 0 });
    expect(dest.calls.at(-1)!.map((i) => [i.op, i.reason])).toEqual([['delete', 'consent_withdrawn']]);
    expect(dest.held.size).toBe(1);
    expect(after).toEqual({ pending: 0, withdrawn: 0 });
  });

  it('a destination that can neither delete nor withdraw is reported: the withdrawal stays pending', async () => {
    const rows = customers(2);
    const { file } = deliveryConfig({ customers: rows }, { purpose: 'email_marketing' });
    setRows(file, rows);
    const dest = recordingDestination({ canDelete: false });
    await run(file, dest);
    rows[0] = { ...rows[0], optin: 'no', updated_at: '2026-02-01T00:00:00Z' };
    setRows(file, rows);
    const calls = dest.calls.length;
    const { counts, after } = await run(file, dest);
    expect(counts).toMatchObject({ cannotWithdraw: 1, withheld: 1 });
    expect(dest.calls.length).toBe(calls);
    expect(after).toEqual({ pending: 1, withdrawn: 0 });
  });

  it('a merge of a withdrawn and a granted profile keeps the withdrawal and withdraws the survivor', async () => {
    // Two profiles (one by email, one by phone); a later record links them.
    const rows: Row[] = [
      { id: '1', email: 'ann@shop.io', phone: '', first: 'Ann', country: 'FR', optin: 'yes', updated_at: '2026-01-01T00:00:00Z' },
      { id: '2', email: '', phone: '+33612345678', first: 'Ann', country: 'FR', optin: 'no', updated_at: '2026-01-02T00:00:00Z' },
    ];
    const { file } = deliveryConfig({ customers: rows }, { purpose: 'email_marketing' });
    setRows(file, rows);
    const dest = recordingDestination({ withdraw: 'mark' });
    expect((await run(file, dest)).counts).toMatchObject({ delivered: 1, withheld: 1 });
    // The linking record states nothing about consent: the withdrawal (the latest statement) stands.
    rows.push({ id: '3', email: 'ann@shop.io', phone: '+33612345678', first: 'Ann', country: 'FR', optin: '', updated_at: '2026-01-03T00:00:00Z' });
    setRows(file, rows);
    const calls = dest.calls.length;
    const { counts } = await run(file, dest);
    expect(counts).toMatchObject({ withdrawn: 1 });
    expect(dest.calls.slice(calls).flat().map((i) => i.op)).toEqual(['withdraw']);
  });
});

describe('a purpose added to a destination that already holds profiles', () => {
  it('withdraws the ones without a grant at the next delivery, with no sync in between', async () => {
    const rows = customers(3, (i) => ({ optin: i === 0 ? 'no' : 'yes' }));
    const { file } = deliveryConfig({ customers: rows }, {});
    setRows(file, rows);
    const dest = recordingDestination({ withdraw: 'mark' });
    expect((await run(file, dest)).counts).toMatchObject({ delivered: 3 });

    const cfg = parse(readFileSync(file, 'utf8'));
    cfg.destinations[0].purpose = 'email_marketing';
    writeFileSync(file, stringify(cfg));
    const s = await startDelivery(file, dest);
    opened.push(s);
    expect(await s.store.delivery.withdrawalStatus('out', 'email_marketing')).toEqual({ pending: 1, withdrawn: 0 });
    const calls = dest.calls.length;
    const counts = await s.engine.deliverTo('out');
    expect(counts).toMatchObject({ withdrawn: 1, unchanged: 2 });
    expect(dest.calls.slice(calls).flat().map((i) => [i.op, emailOf(i)])).toEqual([['withdraw', 'user1@shop.io']]);
    expect(await s.store.delivery.withdrawalStatus('out', 'email_marketing')).toEqual({ pending: 0, withdrawn: 1 });
    // Unchanged config: nothing queued again.
    expect(await s.engine.deliverTo('out')).toMatchObject({ delivered: 0, unchanged: 0 });
  });
});

describe('purpose at load', () => {
  it('a purpose no source maps is a warning with its YAML line: nothing could ever be sent', async () => {
    const { file } = deliveryConfig({ customers: customers(1) }, { purpose: 'advertising' });
    const s = await startDelivery(file);
    opened.push(s);
    const warnings = s.engine.destinationPlan('out').warnings;
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/tributary\.yaml:\d+: destinations\[0\]\.purpose: no source maps consent "advertising"/);
  });
});
