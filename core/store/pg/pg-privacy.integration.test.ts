import { afterEach, describe, expect, it } from 'vitest';
import { SIDES, type Side } from './__fixtures__/dual.js';
import { decodeRecord } from '../record-codec.js';
import type { CanonicalRecord } from '../../schema/canonical.js';
import { ADA_EMAIL, ADA_EMAIL_KEY, ADA_FORMS, ADA_PHONE_KEY, AT, BOB_EMAIL_KEY, putRecord, record, seedPeople } from './__fixtures__/people.js';

const open: Side[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

describe.each(SIDES)('privacy ledger (%s)', (name, make) => {
  const side = async () => {
    const s = await make(`priv_${name}`);
    open.push(s);
    await seedPeople(s);
    return s;
  };

  it('forgets the person in every table, suppresses their identifiers, queues the deletes, and keeps the other person whole', async () => {
    const s = await side();
    const bobBefore = JSON.stringify([await s.rows('records', "profile_id = 'p_bob'"), await s.rows('identifiers', "profile_id = 'p_bob'"), await s.rows('profiles', "id = 'p_bob'")]);
    // By the absorbed id: resolved to its survivor inside the transaction.
    const result = await s.privacy.forget({ profileIds: ['p_old'], suppressKeys: [ADA_EMAIL_KEY], kind: 'forget', reason: 'ticket 4411', at: AT });
    expect(result.counts).toEqual({
      delivered: 2, outbox: 1, delivery_failures: 1, merges: 1, refused: 1, presented: 1, aliases: 1, event_retry: 1, consent_statements: 1,
      blocking_keys: 1, probabilistic_links: 1, records: 1, identifiers: 2, profiles: 1, inbox: 1, dead_letters: 1, run_errors_scrubbed: 1,
    });
    expect(result.suppressed).toBe(2);
    expect(result.deletes).toEqual([{ destination: 'out', profileId: 'p_ada' }, { destination: 'out', profileId: 'p_old' }]);
    // Nothing names her any more but the refs of the deletes still to send.
    const text = (await s.allText(['forget_deletes'])).toLowerCase();
    for (const form of ADA_FORMS) expect(text, `a table still holds ${form}`).not.toContain(form.toLowerCase());
    expect(text).not.toContain('dob:1815-12-10');
    expect(text).toContain('[forgotten]');
    expect(JSON.stringify([await s.rows('records', "profile_id = 'p_bob'"), await s.rows('identifiers', "profile_id = 'p_bob'"), await s.rows('profiles', "id = 'p_bob'")])).toBe(bobBefore);
    expect((await s.rows('refused')).map((r) => r.reason)).toEqual(['kept']);
    expect((await s.rows('inbox')).map((r) => r.dedup_key)).toEqual(['m2']);
    expect((await s.rows('dead_letters')).map((r) => r.record_id)).toEqual(['x10']);

    expect(await s.privacy.hasSuppressions()).toBe(true);
    expect(await s.privacy.suppressedAmong([ADA_EMAIL_KEY, ADA_PHONE_KEY, BOB_EMAIL_KEY])).toEqual(new Set([ADA_EMAIL_KEY, ADA_PHONE_KEY]));
    expect(JSON.stringify(await s.rows('suppressions'))).not.toContain('lovelace');

    const pending = await s.privacy.pendingDeletes('out', 10);
    expect(pending).toEqual([
      { requestId: result.requestId, destination: 'out', profileId: 'p_ada', ref: `email:${ADA_EMAIL}` },
      { requestId: result.requestId, destination: 'out', profileId: 'p_old', ref: 'email:old-ref-of-ada' },
    ]);
    await s.privacy.settleDeletes('out', [
      { requestId: result.requestId, profileId: 'p_ada', status: 'done' },
      { requestId: result.requestId, profileId: 'p_old', status: 'refused', error: 'HTTP 403 for email:old-ref-of-ada' },
    ]);
    const [req] = await s.privacy.requests({ limit: 5 });
    expect(req).toMatchObject({ id: result.requestId, kind: 'forget', outcome: 'partial', reason: 'ticket 4411', finishedAt: expect.any(String) });
    expect(req.destinations).toEqual([
      { destination: 'out', profileId: 'p_ada', status: 'done', attempts: 1, updatedAt: expect.any(String) },
      { destination: 'out', profileId: 'p_old', status: 'refused', attempts: 1, error: 'HTTP 403 for [forgotten]', updatedAt: expect.any(String) },
    ]);
    expect(req.counts).toMatchObject({ profiles: 1, suppressed: 2, destinations: 2 });
    // The done delete dropped its ref: her address is nowhere now.
    expect((await s.allText()).toLowerCase()).not.toContain(ADA_EMAIL);
    expect(await s.privacy.pendingDeletes('out', 10)).toEqual([]);

    // A delivery that read her before the forget settles after it: the next run queues the delete again.
    await s.insert('delivered', { destination: 'out', profile_id: 'p_ada', ref: `email:${ADA_EMAIL}`, hash: 'h9', at: AT });
    expect(await s.privacy.pendingDeletes('out', 10)).toEqual([{ requestId: result.requestId, destination: 'out', profileId: 'p_ada', ref: `email:${ADA_EMAIL}` }]);
    expect(await s.rows('delivered', "profile_id = 'p_ada'")).toEqual([]);
    expect((await s.privacy.requests({ id: result.requestId, limit: 1 }))[0].outcome).toBe('pending');

    // Lifting the request lifts both of her identifiers.
    expect(await s.privacy.unsuppress([], 'signed up again', result.requestId)).toMatchObject({ removed: 2 });
    expect(await s.privacy.suppressedAmong([ADA_EMAIL_KEY, ADA_PHONE_KEY])).toEqual(new Set());
    const [un] = await s.privacy.requests({ limit: 1 });
    expect(un).toMatchObject({ kind: 'unsuppress', outcome: 'completed', counts: { unsuppressed: 2 }, destinations: [] });
  });

  it('suppress-only keeps the data; a forget of nobody is "nothing held"; unsuppress by key', async () => {
    const s = await side();
    const r = await s.privacy.forget({ profileIds: [], suppressKeys: [BOB_EMAIL_KEY], kind: 'suppress-only', at: AT });
    expect(r).toMatchObject({ counts: {}, suppressed: 1, deletes: [] });
    expect(await s.rows('records', "profile_id = 'p_bob'")).toHaveLength(1);
    expect(await s.privacy.suppressedAmong([BOB_EMAIL_KEY, ADA_EMAIL_KEY])).toEqual(new Set([BOB_EMAIL_KEY]));
    expect((await s.privacy.requests({ id: r.requestId, limit: 1 }))[0]).toMatchObject({ kind: 'suppress-only', outcome: 'completed' });
    const none = await s.privacy.forget({ profileIds: [], suppressKeys: ['email\u0000nobody@nowhere.io'], kind: 'forget', at: AT });
    expect((await s.privacy.requests({ id: none.requestId, limit: 1 }))[0].outcome).toBe('nothing held');
    expect(await s.privacy.unsuppress([BOB_EMAIL_KEY])).toMatchObject({ removed: 1 });
    expect(await s.privacy.suppressedAmong([BOB_EMAIL_KEY])).toEqual(new Set());
  });

  it('finds who holds an identifier (owner or refused presenter) and what an export-subject lists', async () => {
    const s = await side();
    expect(await s.privacy.profilesHolding([ADA_EMAIL_KEY])).toEqual(['p_ada', 'p_bob']);
    expect(await s.privacy.profilesHolding([ADA_PHONE_KEY])).toEqual(['p_ada']);
    // Values are matched case-insensitively (the payload wrote the address in capitals); 'x9' is too short to search for.
    const held = await s.privacy.subjectHoldings(['p_ada', 'p_old'], ['Ada.Lovelace@Babbage.co.uk', 'x9']);
    expect(held.delivered).toEqual([
      { destination: 'out', ref: `email:${ADA_EMAIL}`, at: AT },
      { destination: 'out', ref: 'email:old-ref-of-ada', at: AT },
    ]);
    expect(held.deadLetters).toEqual([expect.objectContaining({ recordId: 'x9', payload: { mail: 'ADA.LOVELACE@babbage.co.uk' } })]);
  });

  it('expires old track records to what the profile is built from, once, and counts them in a dry run', async () => {
    const s = await side();
    const track = (id: string, observedAt: string) =>
      record(id, [{ type: 'email', value: 'bob.builder@fjordpost.no', raw: 'Bob.Builder@fjordpost.no' }], {
        kind: 'track', stream: 'orders', observedAt, event: { name: 'order_completed', properties: { note: 'gift wrap', sku: 'A1' }, revenue: 10 },
        warnings: [{ field: 'note', reason: 'truncated', value: 'gift' }],
      } as never);
    await putRecord(s, track('o1', '2024-01-01T00:00:00Z'), 'p_bob');
    await putRecord(s, track('o2', '2026-05-01T00:00:00Z'), 'p_bob');
    const opts = { source: 'crm', stream: 'orders', before: '2025-01-01T00:00:00Z', maxSeq: 1_000, keepProperties: ['sku'], dryRun: true };
    expect(await s.privacy.expireTrackRecords(opts)).toBe(1);
    expect(JSON.stringify(await s.rows('records', "record_id = 'o1'"))).toContain('gift wrap');
    expect(await s.privacy.expireTrackRecords({ ...opts, dryRun: false })).toBe(1);
    const [o1] = await s.rows('records', "record_id = 'o1'");
    const body = decodeRecord(o1) as CanonicalRecord & { expiredAt?: string };
    expect(body).toMatchObject({ event: { name: 'order_completed', properties: { sku: 'A1' }, revenue: 10 }, expiredAt: expect.any(String) });
    expect(body.identifiers).toEqual([{ type: 'email', value: 'bob.builder@fjordpost.no' }]);
    expect(body.warnings).toBeUndefined();
    expect(decodeRecord((await s.rows('records', "record_id = 'o2'"))[0]).event?.properties?.note).toBe('gift wrap');
    expect(await s.privacy.expireTrackRecords({ ...opts, dryRun: false })).toBe(0);
    // A seq bound below the record's keeps it (an events destination has not sent it yet).
    await putRecord(s, track('o0', '2023-01-01T00:00:00Z'), 'p_bob');
    expect(await s.privacy.expireTrackRecords({ ...opts, maxSeq: 3 })).toBe(0);
  });
});

describe('privacy ledger (postgres only)', () => {
  it('vacuums the tables a forget touched once it has committed (the dead tuples of the person are pruned)', async () => {
    const [, make] = SIDES[1];
    const s = await make('priv_vacuum');
    open.push(s);
    await seedPeople(s);
    const conn = s.conn!;
    const lastVacuum = async () =>
      (await conn.q<{ relname: string; v: string | null }>('SELECT relname, last_vacuum::text AS v FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = ANY($2::text[]) ORDER BY relname', [conn.schema, ['records', 'identifiers', 'profiles', 'inbox']]));
    expect((await lastVacuum()).every((r) => r.v === null)).toBe(true);
    const result = await s.privacy.forget({ profileIds: ['p_ada'], suppressKeys: [], kind: 'forget', at: AT });
    expect(result.walTruncated).toBeUndefined();
    // VACUUM reports to the statistics as it finishes; another backend may see it a moment later.
    let rows = await lastVacuum();
    for (let i = 0; i < 50 && !rows.every((r) => r.v !== null); i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await lastVacuum();
    }
    expect(rows.map((r) => [r.relname, r.v !== null])).toEqual([['identifiers', true], ['inbox', true], ['profiles', true], ['records', true]]);
  });

  it('a forget inside a caller\'s transaction joins it: rolled back or committed with it, the transaction still usable', async () => {
    const [, make] = SIDES[1];
    const s = await make('priv_join');
    open.push(s);
    await seedPeople(s);
    const conn = s.conn!;
    await expect(
      conn.tx(async () => {
        await s.privacy.forget({ profileIds: ['p_ada'], suppressKeys: [], kind: 'forget', at: AT });
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    // Rolled back with the caller: she is still there, nothing is suppressed.
    expect(await s.rows('records', "profile_id = 'p_ada'")).toHaveLength(1);
    expect(await s.privacy.hasSuppressions()).toBe(false);
    // Committed with the caller: the caller's transaction is still usable after it (no VACUUM tried inside it).
    await conn.tx(async () => {
      await s.privacy.forget({ profileIds: ['p_ada'], suppressKeys: [], kind: 'forget', at: AT });
      await conn.q("INSERT INTO meta(key, value) VALUES ('after_forget', 'yes')");
    });
    expect(await s.rows('records', "profile_id = 'p_ada'")).toEqual([]);
    expect(await s.rows('meta', "key = 'after_forget'")).toEqual([{ key: 'after_forget', value: 'yes' }]);
  });
});
