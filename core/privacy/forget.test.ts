import { afterEach, describe, expect, it } from 'vitest';
import { SqliteInboxWriter } from '../store/sqlite-inbox.js';
import type { SqliteStore } from '../store/sqlite-store.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { customers, deliveryConfig, startDelivery, type Row } from '../delivery/__fixtures__/harness.js';
import { fakeClock, recordingDestination } from '../delivery/__fixtures__/recording-destination.js';
import { planForget, runForget, subjectKeys } from './forget.js';
import { exportSubject, writeSubjectFile } from './export-subject.js';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';

type Started = Awaited<ReturnType<typeof startDelivery>>;
const opened: Started[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

const ADA = { id: 'ada', email: 'Ada.Lovelace@Babbage.co.uk', phone: '+1 415 555 2671', first: 'Ada', country: 'GB', optin: 'yes', updated_at: '2026-01-02T00:00:00Z' };

function setRows(file: string, rows: Row[]) {
  const cfg = parse(readFileSync(file, 'utf8'));
  cfg.sources[0].config.streams = { customers: rows };
  cfg.sources[0].streams[0].mode = 'full_refresh';
  writeFileSync(file, stringify(cfg));
}

async function start(file: string, dest: ReturnType<typeof recordingDestination>) {
  const s = await startDelivery(file, dest, fakeClock());
  opened.push(s);
  return s;
}

/** Every byte of the store's files, as latin1 text, for a search that cannot miss a copy. */
function storeBytes(file: string): string {
  return ['', '-wal', '-shm'].map((ext) => (existsSync(file + ext) ? readFileSync(file + ext).toString('latin1') : '')).join('\n');
}

const PERSON_FORMS = ['ada.lovelace@babbage.co.uk', 'Ada.Lovelace@Babbage.co.uk', '+14155552671', '+1 415 555 2671'];

describe('forget', () => {
  it('deletes the person everywhere in the store, overwrites the bytes, suppresses them, and deletes them at the destination', async () => {
    const rows = [...customers(3), ADA];
    const { file } = deliveryConfig({ customers: rows }, {});
    setRows(file, rows);
    const dest = recordingDestination({ keyBy: 'email' });
    const s = await start(file, dest);
    expect((await s.engine.runSync('crm', { deliverAfter: false })).ok).toBe(true);
    await s.engine.deliverTo('out');
    expect(dest.held.has('email:ada.lovelace@babbage.co.uk')).toBe(true);
    // A dead letter that carries the person's address in its raw payload (a row that failed elsewhere).
    await s.store.addDeadLetters([{ sync: 'crm', stream: 'customers', recordId: 'x9', reason: 'bad date', payload: { mail: 'ADA.LOVELACE@babbage.co.uk', note: 'x' } }]);
    const dbFile = parse(readFileSync(file, 'utf8')).store.sqlite as string;
    // Pushed events `serve` accepted but no sync has drained yet: one of them is the person's.
    const inbox = new SqliteInboxWriter(dbFile);
    const pushed = (email: string, id: string) => ({ source: 'hooks', stream: 'events', dedupKey: id, receivedAt: '2026-01-05T00:00:00.000Z', body: { email } });
    await inbox.appendGroups([[pushed('ADA.lovelace@babbage.co.uk', 'm1'), pushed('someone.else@fjordpost.no', 'm2')]]);
    inbox.close();
    // What a probabilistic resolver files under the person's record: a key derived from their traits.
    await (s.store as SqliteStore).saveBlockingKeys([['crm/customers/ada', ['dob:1815-12-10']], ['crm/customers/1', ['dob:1990-01-01']]]);
    for (const form of PERSON_FORMS.slice(0, 3)) expect(storeBytes(dbFile)).toContain(form);

    const plan = await planForget(s.store, { email: ' ada.lovelace@BABBAGE.co.uk' }, { defaultRegion: 'US' });
    expect(plan.kind).toBe('ready');
    const result = await runForget(s.store, plan as Extract<typeof plan, { kind: 'ready' }>, { reason: 'ticket 4411' });
    expect(result.walTruncated).toBe(true);
    expect(result.counts).toMatchObject({ profiles: 1, records: 1, identifiers: 2, delivered: 1, dead_letters: 1, consent_statements: 1, inbox: 1, blocking_keys: 1 });
    expect(storeBytes(dbFile)).not.toContain('dob:1815-12-10');
    expect((await (s.store as SqliteStore).inbox.read('hooks', { afterSeq: 0, limit: 10 })).map((r) => r.body)).toEqual([{ email: 'someone.else@fjordpost.no' }]);
    expect(result.suppressed).toBe(2);
    expect(result.deletes).toEqual([{ destination: 'out', profileId: expect.any(String) }]);
    expect(await s.store.countProfiles()).toBe(3);
    expect(await s.store.listDeadLetters({ limit: 10 })).toEqual([]);

    // The ref is the one copy kept, until the destination confirms the delete.
    expect(storeBytes(dbFile)).toContain('ada.lovelace@babbage.co.uk');
    const counts = await s.engine.deliverTo('out');
    expect(counts).toMatchObject({ deleted: 1, pending: 0 });
    expect(dest.held.has('email:ada.lovelace@babbage.co.uk')).toBe(false);
    expect(dest.calls.at(-1)).toEqual([expect.objectContaining({ op: 'delete', reason: 'deleted', previous: { ref: 'email:ada.lovelace@babbage.co.uk' } })]);
    const bytes = storeBytes(dbFile);
    for (const form of PERSON_FORMS) expect(bytes, `the store files still hold ${form}`).not.toContain(form);

    // A delivery in another process that read the profile before the forget settles its upsert after it:
    // the next delivery run sees the person back in the ledger and deletes them again.
    const forgotten = result.deletes[0].profileId;
    await s.store.delivery.settle('out', { ack: [], put: [{ profileId: forgotten, ref: 'email:ada.lovelace@babbage.co.uk', hash: 'h' }], remove: [], deadLetters: [], failed: [], cleared: [] });
    dest.held.set('email:ada.lovelace@babbage.co.uk', {});
    expect(await s.engine.deliverTo('out')).toMatchObject({ deleted: 1 });
    expect(dest.held.has('email:ada.lovelace@babbage.co.uk')).toBe(false);
    expect(await s.store.delivery.delivered('out', [forgotten])).toEqual(new Map());

    const [req] = await s.store.privacy.requests({ limit: 5 });
    expect(req).toMatchObject({ id: result.requestId, kind: 'forget', outcome: 'completed', reason: 'ticket 4411', destinations: [{ destination: 'out', status: 'done', attempts: 2 }] });
    expect(JSON.stringify(req)).not.toMatch(/lovelace|4155552671/i);

    // The next sync brings the person again: dropped before it is stored, counted as suppressed.
    const again = await s.engine.runSync('crm', { deliverAfter: false });
    expect(again.summary!.streams.customers).toMatchObject({ read: 4, written: 3, suppressed: 1 });
    expect(await s.store.countProfiles()).toBe(3);
    await s.engine.deliverTo('out');
    expect(dest.held.has('email:ada.lovelace@babbage.co.uk')).toBe(false);
    for (const form of PERSON_FORMS) expect(storeBytes(dbFile)).not.toContain(form);
  });

  it('a row that fails mapping is not dead-lettered with a suppressed address', async () => {
    const rows = [...customers(2), ADA];
    const { file } = deliveryConfig({ customers: rows }, {});
    setRows(file, rows);
    const s = await start(file, recordingDestination());
    await s.engine.runSync('crm', { deliverAfter: false });
    const plan = await planForget(s.store, { phone: '(415) 555-2671' }, { defaultRegion: 'US' });
    await runForget(s.store, plan as Extract<typeof plan, { kind: 'ready' }>, {});
    // The same person, in a row whose phone is unusable and whose email is mapped nowhere valid.
    setRows(file, [...customers(2), { ...ADA, email: 'ADA.LOVELACE@BABBAGE.CO.UK', phone: 'call me' }]);
    await s.close();
    opened.pop();
    const s2 = await start(file, recordingDestination());
    const out = await s2.engine.runSync('crm', { deliverAfter: false });
    expect(out.summary!.streams.customers).toMatchObject({ suppressed: 1, written: 2 });
    expect(await s2.store.countProfiles()).toBe(2);
  });

  it('suppress-only keeps the data but stops collecting; unsuppress lets the person back in', async () => {
    const rows = [...customers(2)];
    const { file } = deliveryConfig({ customers: rows }, {});
    setRows(file, rows);
    const s = await start(file, recordingDestination());
    await s.engine.runSync('crm', { deliverAfter: false });
    const plan = await planForget(s.store, { email: ADA.email }, { defaultRegion: 'US' });
    expect(plan).toEqual({ kind: 'ready', profileIds: [], suppressKeys: subjectKeys({ email: ADA.email }, 'US') });
    const r = await runForget(s.store, plan as Extract<typeof plan, { kind: 'ready' }>, { suppressOnly: true });
    expect(r.suppressed).toBe(1);
    setRows(file, [...rows, ADA]);
    await s.close();
    opened.pop();
    const s2 = await start(file, recordingDestination());
    expect((await s2.engine.runSync('crm', { deliverAfter: false })).summary!.streams.customers).toMatchObject({ suppressed: 1 });
    expect(await s2.store.countProfiles()).toBe(2);
    // Lifting the request lifts what it suppressed (here the one email), whatever the identifier.
    expect(await s2.store.privacy.unsuppress([], 'signed up again', r.requestId)).toMatchObject({ removed: 1 });
    expect((await s2.engine.runSync('crm', { deliverAfter: false })).summary!.streams.customers).toMatchObject({ written: 3 });
    expect(await s2.store.countProfiles()).toBe(3);
  });

  it('identifiers of several profiles are not decided: they are listed, and --all takes them all', async () => {
    const rows = customers(2, (i) => (i === 1 ? { phone: '+1 415 555 0199' } : {}));
    const { file } = deliveryConfig({ customers: rows }, {});
    setRows(file, rows);
    const s = await start(file, recordingDestination());
    await s.engine.runSync('crm', { deliverAfter: false });
    const owners = await s.store.lookupIdentifiers([...subjectKeys({ email: 'user1@shop.io' }, 'US'), ...subjectKeys({ email: 'user2@shop.io' }, 'US')]);
    const [a, b] = [...owners.values()].sort();
    const q = { email: 'user1@shop.io', phone: '(415) 555-0199' };
    expect(await planForget(s.store, q, { defaultRegion: 'US' })).toEqual({ kind: 'ambiguous', profiles: [a, b] });
    expect(await s.store.countProfiles()).toBe(2);
    const all = await planForget(s.store, q, { defaultRegion: 'US', all: true });
    expect(all).toMatchObject({ kind: 'ready', profileIds: [a, b] });
    expect((await runForget(s.store, all as Extract<typeof all, { kind: 'ready' }>, {})).counts).toMatchObject({ profiles: 2 });
    expect(await planForget(s.store, { profile: 'nope' }, { defaultRegion: 'US' })).toEqual({ kind: 'unknown-profile', profile: 'nope' });
  });

  it('export-subject writes everything held about the person: records with their source, consent, deliveries, dead letters', async () => {
    const rows = [...customers(2), ADA, { ...ADA, id: 'ada-2', first: 'Augusta', updated_at: '2026-01-03T00:00:00Z' }];
    const { file } = deliveryConfig({ customers: rows }, {});
    setRows(file, rows);
    const s = await start(file, recordingDestination({ keyBy: 'email' }));
    await s.engine.runSync('crm', { deliverAfter: false });
    await s.engine.deliverTo('out');
    await s.store.addDeadLetters([{ sync: 'crm', stream: 'customers', recordId: 'x9', reason: 'bad date', payload: { mail: 'ada.lovelace@babbage.co.uk' } }]);
    const [id] = await s.store.privacy.profilesHolding(subjectKeys({ email: ADA.email }, 'US'));
    const doc = await exportSubject(s.store, id, new Date('2026-02-01T00:00:00Z'));
    expect(doc).toBeDefined();
    expect(doc!.records).toHaveLength(2);
    expect(doc!.records).toContainEqual(expect.objectContaining({ source: 'crm', stream: 'customers', recordId: 'ada-2', traits: expect.objectContaining({ firstName: 'Augusta' }) }));
    expect(doc!.consent.current).toEqual({ email_marketing: true });
    expect(doc!.consent.statements).toHaveLength(2);
    expect(doc!.destinations).toEqual([{ destination: 'out', ref: 'email:ada.lovelace@babbage.co.uk', at: expect.any(String) }]);
    expect(doc!.deadLetters).toEqual([expect.objectContaining({ recordId: 'x9', payload: { mail: 'ada.lovelace@babbage.co.uk' } })]);
    const out = join(dirname(file), 'subject.json');
    writeSubjectFile(out, doc!);
    expect(JSON.parse(readFileSync(out, 'utf8')).profile.id).toBe(id);
    expect(statSync(out).mode & 0o077).toBe(0);
    expect(await exportSubject(s.store, 'prof_missing')).toBeUndefined();
  });
});
