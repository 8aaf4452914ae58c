import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS, type LedgerBackend } from './__fixtures__/ledger-backends.js';

const open: LedgerBackend[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

const T0 = '2026-12-01T10:00:00.000Z';
const counts = { delivered: 3, unchanged: 1, filtered: 0, deleted: 0, failed: 1 } as never;

async function profile(b: LedgerBackend, id: string, body = '{}') {
  await b.exec('INSERT INTO profiles(id, created_at, updated_at, body) VALUES (?, ?, ?, ?)', [id, T0, T0, body]);
}

async function outbox(b: LedgerBackend, destination: string) {
  const rows = await b.all<{ profile_id: string; seq: unknown; merged_from: string }>(
    'SELECT profile_id, seq, merged_from FROM outbox WHERE destination = ? ORDER BY seq',
    [destination],
  );
  return rows.map((r) => ({ id: r.profile_id, seq: Number(r.seq), mergedFrom: JSON.parse(r.merged_from) as string[] }));
}

async function record(b: LedgerBackend, key: string, profileId: string, kind: 'track' | 'identify') {
  const [source, stream, recordId] = key.split('/');
  const body = JSON.stringify({ kind, source, stream, recordId, observedAt: T0, identifiers: [], traits: {}, ...(kind === 'track' ? { event: { name: 'Order' } } : {}) });
  await b.exec('INSERT INTO records(key, source, stream, record_id, profile_id, kind, observed_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
    key,
    source,
    stream,
    recordId,
    profileId,
    kind,
    T0,
    body,
  ]);
}

async function deadLetter(b: LedgerBackend, sync: string, stream: string, recordId: string | null) {
  await b.exec('INSERT INTO dead_letters(sync, stream, record_id, origin, reason, payload, at) VALUES (?, ?, ?, NULL, ?, ?, ?)', [sync, stream, recordId, 'refused', '{}', T0]);
}

describe.each(BACKENDS)('delivery ledger on %s', (kind, openBackend) => {
  async function backend(): Promise<LedgerBackend> {
    const b = await openBackend('dlv');
    open.push(b);
    return b;
  }

  it('enqueueAll queues every profile in id order with fresh increasing seqs, keeping what an entry already carries', async () => {
    const b = await backend();
    for (const id of ['p-b', 'p-a', 'P-c']) await profile(b, id);
    await b.exec("INSERT INTO outbox(destination, profile_id, seq, merged_from) VALUES ('out', 'p-b', 0, '[\"p-x\"]')");
    expect(await b.ledger.enqueueAll('out')).toBe(3);
    const rows = await outbox(b, 'out');
    // Byte order, as SQLite sorts: upper case first.
    expect(rows.map((r) => r.id)).toEqual(['P-c', 'p-a', 'p-b']);
    expect(rows[0].seq).toBeGreaterThan(0);
    expect(rows[1].seq).toBeGreaterThan(rows[0].seq);
    expect(rows[2].seq).toBeGreaterThan(rows[1].seq);
    expect(rows[2].mergedFrom).toEqual(['p-x']);
    expect(await b.ledger.backlog('out')).toBe(3);
    expect(await b.ledger.backlog('elsewhere')).toBe(0);
    // Again: new seqs above the old ones, still one entry per profile.
    expect(await b.ledger.enqueueAll('out')).toBe(3);
    const again = await outbox(b, 'out');
    expect(again.length).toBe(3);
    expect(again[0].seq).toBeGreaterThan(rows[2].seq);
    expect(await b.ledger.enqueueAll('other')).toBe(3);
  });

  it('settle applies a batch: puts, removes, failure counts, clears, acks by (profile, seq), the event cursor and dead letters', async () => {
    const b = await backend();
    await b.ledger.settle('out', { ack: [], put: [{ profileId: 'p1', ref: 'r1', hash: 'h1' }, { profileId: 'p2', ref: 'r2', hash: 'h2' }], remove: [], deadLetters: [], failed: [], cleared: [] }, T0);
    await b.exec("INSERT INTO outbox(destination, profile_id, seq) VALUES ('out', 'p1', 5), ('out', 'p2', 6), ('out', 'p3', 9)");
    await b.ledger.settle(
      'out',
      {
        // p3 was re-queued by a sync (seq 9) after this batch read it as seq 7: its entry stays.
        ack: [{ profileId: 'p1', seq: 5, mergedFrom: [] }, { profileId: 'p3', seq: 7, mergedFrom: [] }],
        put: [{ profileId: 'p1', ref: 'r1b', hash: 'h1b' }, { profileId: 'p4', ref: 'r4', hash: 'h4' }, { profileId: 'p4', ref: 'r4b', hash: 'h4b' }],
        remove: ['p2'],
        deadLetters: [{ sync: 'out', stream: 'profiles', recordId: 'p9', reason: 'too large', payload: { id: 'p9' } }],
        failed: [{ item: 'p5', reason: 'timeout' }],
        cleared: [],
        eventSeq: 42,
      },
      '2026-12-01T11:00:00.000Z',
    );
    const held = await b.ledger.delivered('out', ['p1', 'p2', 'p4', 'nope']);
    expect([...held.entries()]).toEqual([
      ['p1', { ref: 'r1b', hash: 'h1b' }],
      ['p4', { ref: 'r4b', hash: 'h4b' }],
    ]);
    expect((await b.ledger.delivered('other', ['p1'])).size).toBe(0);
    expect((await outbox(b, 'out')).map((r) => [r.id, r.seq])).toEqual([
      ['p2', 6],
      ['p3', 9],
    ]);
    expect((await b.ledger.status('out')).eventSeq).toBe(42);
    const dl = await b.all<{ sync: string; record_id: string; reason: string; payload: string; at: string }>('SELECT sync, record_id, reason, payload, at FROM dead_letters');
    expect(dl).toEqual([{ sync: 'out', record_id: 'p9', reason: 'too large', payload: '{"id":"p9"}', at: '2026-12-01T11:00:00.000Z' }]);
    // A second failing run counts up and keeps the first time; a clear forgets it.
    await b.ledger.settle('out', { ack: [], put: [], remove: [], deadLetters: [], failed: [{ item: 'p5', reason: '503' }, { item: 'p6', reason: 'x' }], cleared: [] }, '2026-12-01T12:00:00.000Z');
    expect([...(await b.ledger.failures('out', ['p6', 'p5', 'p7'])).entries()]).toEqual([
      ['p6', { runs: 1, firstAt: '2026-12-01T12:00:00.000Z' }],
      ['p5', { runs: 2, firstAt: '2026-12-01T11:00:00.000Z' }],
    ]);
    expect(await b.all('SELECT reason FROM delivery_failures WHERE item = ?', ['p5'])).toEqual([{ reason: '503' }]);
    await b.ledger.settle('out', { ack: [], put: [], remove: [], deadLetters: [], failed: [], cleared: ['p5'] });
    expect([...(await b.ledger.failures('out', ['p5', 'p6'])).keys()]).toEqual(['p6']);
  });

  it('settle is one transaction: a dead letter that cannot be written leaves nothing of the batch', async () => {
    const b = await backend();
    await b.exec("INSERT INTO outbox(destination, profile_id, seq) VALUES ('out', 'p1', 1)");
    const bad = { sync: 'out', stream: 'profiles', recordId: 'p2', reason: 'x', payload: { n: 10n } };
    await expect(
      b.ledger.settle('out', { ack: [{ profileId: 'p1', seq: 1, mergedFrom: [] }], put: [{ profileId: 'p1', ref: 'r', hash: 'h' }], remove: [], deadLetters: [bad], failed: [], cleared: [], eventSeq: 3 }),
    ).rejects.toThrow(/BigInt/);
    expect((await b.ledger.delivered('out', ['p1'])).size).toBe(0);
    expect(await b.ledger.backlog('out')).toBe(1);
    expect((await b.ledger.status('out')).eventSeq).toBe(0);
  });

  it('keeps destination status: initialized, disabled and enabled again, the last run with its rate window; forgets what it holds', async () => {
    const b = await backend();
    expect(await b.ledger.status('out')).toEqual({ name: 'out', eventSeq: 0 });
    await b.ledger.markInitialized('out');
    await b.ledger.setDisabled('out', 'endpoint answered 410');
    await b.ledger.saveRun('out', { counts, rateLevels: { default: { times: [1, 2] } } });
    await b.ledger.saveRun('out', { counts, error: 'boom' });
    const s = await b.ledger.status('out');
    expect(s.initializedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(s.disabled).toBe('endpoint answered 410');
    expect(s.rateLevels).toEqual({ default: { times: [1, 2] } });
    expect(s.lastRun).toEqual({ at: expect.any(String), counts, error: 'boom' });
    await b.ledger.setDisabled('out', undefined);
    expect((await b.ledger.status('out')).disabled).toBeUndefined();
    await b.ledger.settle('out', { ack: [], put: [{ profileId: 'p1', ref: 'r', hash: 'h' }], remove: [], deadLetters: [], failed: [], cleared: [] });
    await b.ledger.settle('keep', { ack: [], put: [{ profileId: 'p1', ref: 'r', hash: 'h' }], remove: [], deadLetters: [], failed: [], cleared: [] });
    await b.ledger.forgetDelivered('out');
    expect((await b.ledger.delivered('out', ['p1'])).size).toBe(0);
    expect((await b.ledger.delivered('keep', ['p1'])).size).toBe(1);
  });

  it('reads track records after a seq in store order, and by key in the order asked', async () => {
    const b = await backend();
    await record(b, 'web/track/e1', 'p1', 'track');
    await record(b, 'crm/contacts/c1', 'p1', 'identify');
    await record(b, 'web/track/e2', 'p2', 'track');
    await record(b, 'web/track/e3', 'p1', 'track');
    const all = await b.ledger.trackRecordsAfter(0, 10);
    expect(all.map((r) => [r.key, r.profileId])).toEqual([
      ['web/track/e1', 'p1'],
      ['web/track/e2', 'p2'],
      ['web/track/e3', 'p1'],
    ]);
    expect(all[1].record).toMatchObject({ kind: 'track', recordId: 'e2', event: { name: 'Order' } });
    const after = await b.ledger.trackRecordsAfter(all[0].seq, 1);
    expect(after.map((r) => r.key)).toEqual(['web/track/e2']);
    expect((await b.ledger.trackRecordsByKey(['web/track/e3', 'crm/contacts/c1', 'missing', 'web/track/e1'])).map((r) => r.key)).toEqual(['web/track/e3', 'web/track/e1']);
  });

  it("requeues a destination's profile and event dead letters (a merged profile as its survivor), clears their failures, leaves the rest", async () => {
    const b = await backend();
    await b.exec("INSERT INTO aliases(alias, profile_id) VALUES ('p-old', 'p-new')");
    await deadLetter(b, 'out', 'profiles', 'p-old');
    await deadLetter(b, 'out', 'events', 'web/track/e1');
    await deadLetter(b, 'out', 'profiles', 'p2');
    await deadLetter(b, 'out', 'other', 'x');
    await deadLetter(b, 'out', 'profiles', null);
    await deadLetter(b, 'another', 'profiles', 'p3');
    await b.ledger.settle('out', { ack: [], put: [], remove: [], deadLetters: [], failed: [{ item: 'p-old', reason: 'r' }, { item: 'p2', reason: 'r' }], cleared: [] });
    const ids = (await b.all<{ id: unknown; record_id: string }>('SELECT id, record_id FROM dead_letters ORDER BY id')).map((r) => ({ id: Number(r.id), recordId: r.record_id }));
    // By id: only the one asked for.
    expect(await b.ledger.requeueDeadLetters('out', [ids[2].id, ids[5].id])).toBe(1);
    expect((await outbox(b, 'out')).map((r) => r.id)).toEqual(['p2']);
    expect(await b.ledger.requeueDeadLetters('out')).toBe(2);
    expect((await outbox(b, 'out')).map((r) => r.id)).toEqual(['p2', 'p-new']);
    expect(await b.ledger.eventRetries('out', 10)).toEqual(['web/track/e1']);
    expect((await b.ledger.failures('out', ['p-old', 'p2'])).size).toBe(0);
    const left = await b.all<{ sync: string; stream: string }>('SELECT sync, stream FROM dead_letters ORDER BY id');
    expect(left).toEqual([
      { sync: 'out', stream: 'other' },
      { sync: 'out', stream: 'profiles' },
      { sync: 'another', stream: 'profiles' },
    ]);
    expect(await b.ledger.requeueDeadLetters('out')).toBe(0);
    await b.ledger.settle('out', { ack: [], put: [], remove: [], deadLetters: [], failed: [], cleared: [], eventRetried: ['web/track/e1'] });
    expect(await b.ledger.eventRetries('out', 10)).toEqual([]);
  });

  it('remembers the purpose each destination was last delivered under', async () => {
    const b = await backend();
    expect(await b.ledger.lastPurpose('out')).toBeUndefined();
    await b.ledger.recordPurpose('out', 'email_marketing');
    expect(await b.ledger.lastPurpose('out')).toEqual({ purpose: 'email_marketing' });
    await b.ledger.recordPurpose('out', undefined);
    expect(await b.ledger.lastPurpose('out')).toEqual({});
  });

  if (kind === 'postgres') {
    it('an enqueueAll, a requeue and a settle of the same destination at once wait for each other instead of deadlocking', async () => {
      const b = await backend();
      const ids = Array.from({ length: 300 }, (_, i) => `p${String(i).padStart(4, '0')}`);
      await b.exec("INSERT INTO profiles(id, created_at, updated_at, body) SELECT id, 'x', 'x', '{}' FROM unnest(?::text[]) AS t(id)", [ids]);
      for (let round = 0; round < 8; round++) {
        await b.ledger.enqueueAll('out');
        // Dead letters and acks in the reverse of id order: row locks taken in the order given would cross.
        const reversed = [...ids].reverse();
        await b.exec(
          "INSERT INTO dead_letters(sync, stream, record_id, reason, payload, at) SELECT 'out', 'profiles', id, 'r', '{}', 'x' FROM unnest(?::text[]) WITH ORDINALITY AS t(id, n) ORDER BY n",
          [reversed],
        );
        const entries = (await outbox(b, 'out')).reverse();
        const settled = b.ledger.settle('out', {
          ack: entries.map((e) => ({ profileId: e.id, seq: e.seq, mergedFrom: [] })),
          put: entries.map((e) => ({ profileId: e.id, ref: 'r', hash: `h${round}` })),
          remove: [],
          deadLetters: [],
          failed: entries.map((e) => ({ item: e.id, reason: 'x' })),
          cleared: [],
        });
        const results = await Promise.allSettled([b.ledger.enqueueAll('out'), b.ledger.requeueDeadLetters('out'), settled, b.ledger.enqueueAll('out')]);
        expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
        // Whatever the interleaving, each profile is queued at most once and every dead letter moved.
        expect(await b.ledger.backlog('out')).toBeLessThanOrEqual(ids.length);
        expect(await b.all('SELECT id FROM dead_letters')).toEqual([]);
      }
    });

    it('two requeues at once move each dead letter once', async () => {
      const b = await backend();
      for (let i = 0; i < 20; i++) await deadLetter(b, 'out', 'profiles', `p${i}`);
      const n = await Promise.all([b.ledger.requeueDeadLetters('out'), b.ledger.requeueDeadLetters('out'), b.ledger.requeueDeadLetters('out')]);
      expect(n.reduce((a, x) => a + x, 0)).toBe(20);
      expect((await outbox(b, 'out')).length).toBe(20);
    });
  }
});
