import { afterEach, describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../resolution/types.js';
import type { FieldWarningQuery } from '../types.js';
import * as sqliteExplain from '../sqlite-explain.js';
import * as sqliteRefusals from '../sqlite-refusals.js';
import * as sqliteWarnings from '../sqlite-warnings.js';
import * as sqliteSnapshot from '../sqlite-snapshot.js';
import { explainProfile, recordsOfProfile } from './pg-explain.js';
import { listRefusals } from './pg-refusals.js';
import { fieldWarnings } from './pg-warnings.js';
import { dumpResolution, iterateRecords, listDeadLetters } from './pg-snapshot.js';
import { SIDES, type Side } from './__fixtures__/dual.js';
import { ADA_EMAIL_KEY, ADA_PHONE_KEY, ADA_RECORD, AT, BOB_EMAIL_KEY, putRecord, record, seedPeople } from './__fixtures__/people.js';

/** The read side's questions, asked of either store's implementation. */
interface Reads {
  explain(id: string): ReturnType<typeof explainProfile>;
  refusals(limit: number): ReturnType<typeof listRefusals>;
  warnings(q: FieldWarningQuery): ReturnType<typeof fieldWarnings>;
  deadLetters(opts: { limit: number; sync?: string }): ReturnType<typeof listDeadLetters>;
  records(batch: number): Promise<StoredRecord[][]>;
  dump(): ReturnType<typeof dumpResolution>;
}

function reads(s: Side): Reads {
  const db = s.db;
  if (db) {
    const recordsOf = (id: string) =>
      (db.prepare('SELECT profile_id, body FROM records WHERE profile_id = ? ORDER BY seq').all(id) as Array<{ profile_id: string; body: string }>).map((r) => ({ ...JSON.parse(r.body), profileId: r.profile_id }) as StoredRecord);
    return {
      explain: async (id) => sqliteExplain.explainProfile(db, id, recordsOf(id)),
      refusals: async (limit) => sqliteRefusals.listRefusals(db, limit),
      warnings: async (q) => ({ groups: sqliteWarnings.queryFieldWarnings(db, q), total: sqliteWarnings.countFieldWarningGroups(db, q) }),
      deadLetters: async (opts) => sqliteSnapshot.listDeadLetters(db, opts),
      records: async (batch) => {
        const out: StoredRecord[][] = [];
        let after = 0;
        for (;;) {
          const rows = db.prepare('SELECT seq, profile_id, body FROM records WHERE seq > ? ORDER BY seq LIMIT ?').all(after, batch) as Array<{ seq: number; profile_id: string; body: string }>;
          if (!rows.length) return out;
          after = rows[rows.length - 1].seq;
          out.push(rows.map((r) => ({ ...JSON.parse(r.body), profileId: r.profile_id })));
        }
      },
      dump: async () => sqliteSnapshot.dumpResolution(db),
    };
  }
  const conn = s.conn!;
  return {
    explain: (id) => explainProfile(conn, id),
    refusals: (limit) => listRefusals(conn, limit),
    warnings: (q) => fieldWarnings(conn, q),
    deadLetters: (opts) => listDeadLetters(conn, opts),
    records: async (batch) => {
      const out: StoredRecord[][] = [];
      for await (const page of iterateRecords(conn, batch)) out.push(page);
      return out;
    },
    dump: () => dumpResolution(conn),
  };
}

const open: Side[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const warned = (id: string, stream: string, warnings: Array<{ field: string; reason: string; value?: unknown }>) => record(id, [{ type: 'email', value: `${id}@shop.io` }], { stream, warnings } as never);

describe.each(SIDES)('read side (%s)', (name, make) => {
  const side = async () => {
    const s = await make(`read_${name}`);
    open.push(s);
    await seedPeople(s);
    // Ada's record was refused a link once; a merge of the profile she absorbed is hers too.
    await s.insert('refused', { record_key: 'crm/customers/ada', identifier_key: ADA_PHONE_KEY, profiles: '["p_ada","p_x"]', reason: 'too many', at: '2026-01-03T00:00:00.000Z' });
    await s.insert('merges', { survivor: 'p_old', absorbed: 'p_older', record_key: 'crm/customers/ada', identifier_key: ADA_EMAIL_KEY, rule: 'mergeOn:email', at: AT });
    // A record whose links name an identifier that is not its own (the form before schema 3).
    await putRecord(s, record('carl', [{ type: 'email', value: 'carl@shop.io' }]), 'p_bob', JSON.stringify([[BOB_EMAIL_KEY, 'sameAs']]));
    return s;
  };

  it('explains a profile: records, links decoded against the body, refusals, its own and absorbed merges, aliases', async () => {
    const s = await side();
    await s.insert('refused', { record_key: 'crm/customers/ada', identifier_key: ADA_EMAIL_KEY, profiles: '["p_ada"]', reason: 'later', at: '2026-01-04T00:00:00.000Z' });
    const e = await reads(s).explain('p_ada');
    expect(e.profileId).toBe('p_ada');
    expect(e.aliases).toEqual(['p_old']);
    expect(e.records).toEqual([{ ...ADA_RECORD, profileId: 'p_ada' }]);
    expect(e.links).toEqual([
      { recordKey: 'crm/customers/ada', identifierKey: ADA_EMAIL_KEY, rule: 'mergeOn:email' },
      { recordKey: 'crm/customers/ada', identifierKey: ADA_PHONE_KEY, rule: 'mergeOn:phone' },
    ]);
    expect(e.refused).toEqual([
      { recordKey: 'crm/customers/ada', identifierKey: ADA_PHONE_KEY, profiles: ['p_ada', 'p_x'], reason: 'too many', at: '2026-01-03T00:00:00.000Z' },
      { recordKey: 'crm/customers/ada', identifierKey: ADA_EMAIL_KEY, profiles: ['p_ada'], reason: 'later', at: '2026-01-04T00:00:00.000Z' },
    ]);
    expect(e.merges.map((m) => [m.survivor, m.absorbed, m.identifierKey])).toEqual([
      ['p_ada', 'p_old', ADA_PHONE_KEY],
      ['p_old', 'p_older', ADA_EMAIL_KEY],
    ]);
    // Refusals come grouped by record, in the records' order, then oldest first.
    await s.insert('refused', { record_key: 'crm/customers/carl', identifier_key: BOB_EMAIL_KEY, profiles: '[]', reason: 'carl', at: AT });
    await s.insert('refused', { record_key: 'crm/customers/bob', identifier_key: BOB_EMAIL_KEY, profiles: '[]', reason: 'bob again', at: AT });
    const bob = await reads(s).explain('p_bob');
    expect(bob.links).toContainEqual({ recordKey: 'crm/customers/carl', identifierKey: BOB_EMAIL_KEY, rule: 'sameAs' });
    expect(bob.refused.map((f) => f.reason)).toEqual(['conflict', 'kept', 'bob again', 'carl']);
  });

  it('lists the newest refusals first with the profile their record is in now, and the total', async () => {
    const s = await side();
    const r = await reads(s).refusals(2);
    expect(r.total).toBe(3);
    expect(r.refusals.map((f) => [f.recordKey, f.identifierKey, f.profileId, f.reason])).toEqual([
      ['crm/customers/ada', ADA_PHONE_KEY, 'p_ada', 'too many'],
      ['crm/customers/bob', BOB_EMAIL_KEY, 'p_bob', 'kept'],
    ]);
    await s.insert('refused', { record_key: 'crm/customers/gone', identifier_key: BOB_EMAIL_KEY, profiles: '[]', reason: 'blocked', at: AT });
    expect((await reads(s).refusals(1)).refusals[0]).toMatchObject({ recordKey: 'crm/customers/gone', profileId: undefined, profiles: [] });
  });

  it('groups field warnings read from the record bodies, biggest first, with examples as written', async () => {
    const s = await side();
    await putRecord(s, warned('w1', 'orders', [{ field: 'total', reason: 'not a number', value: 'ten' }, { field: 'note', reason: 'truncated', value: { long: true } }]), 'p_bob');
    await putRecord(s, warned('w2', 'orders', [{ field: 'total', reason: 'not a number', value: 12.5 }]), 'p_bob');
    await putRecord(s, warned('w3', 'orders', [{ field: 'total', reason: 'not a number', value: false }]), 'p_bob');
    await putRecord(s, warned('w4', 'customers', [{ field: 'dob', reason: 'bad date' }]), 'p_bob');
    // "warnings" inside the traits is not a warning of the record.
    await putRecord(s, record('w5', [{ type: 'email', value: 'w5@shop.io' }], { traits: { x: { warnings: [{ field: 'f', reason: 'r' }] } } }), 'p_bob');
    const all = await reads(s).warnings({ limit: 10, examples: 2 });
    expect(all.total).toBe(3);
    expect(all.groups).toEqual([
      { sync: 'crm', stream: 'orders', field: 'total', reason: 'not a number', count: 3, examples: [{ recordId: 'w1', value: 'ten' }, { recordId: 'w2', value: 12.5 }] },
      { sync: 'crm', stream: 'customers', field: 'dob', reason: 'bad date', count: 1, examples: [{ recordId: 'w4', value: null }] },
      { sync: 'crm', stream: 'orders', field: 'note', reason: 'truncated', count: 1, examples: [{ recordId: 'w1', value: { long: true } }] },
    ]);
    const orders = await reads(s).warnings({ stream: 'orders', limit: 1, examples: 5 });
    expect(orders.total).toBe(2);
    expect(orders.groups[0].examples.map((e) => e.value)).toEqual(['ten', 12.5, false]);
    expect((await reads(s).warnings({ sync: 'nope', limit: 5, examples: 1 })).total).toBe(0);
  });

  it('lists dead letters newest first, by sync; iterates every record once in seq order', async () => {
    const s = await side();
    await s.insert('dead_letters', { sync: 'shop', stream: 'orders', reason: 'bad', origin: 'mapping', payload: '[1,2]', at: AT });
    const dl = await reads(s).deadLetters({ limit: 2 });
    expect(dl.map((d) => [d.sync, d.recordId, d.origin, d.payload])).toEqual([
      ['shop', undefined, 'mapping', [1, 2]],
      ['crm', 'x10', undefined, { mail: 'bob.builder@fjordpost.no' }],
    ]);
    expect((await reads(s).deadLetters({ limit: 5, sync: 'crm' })).map((d) => d.recordId)).toEqual(['x10', 'x9']);
    const pages = await reads(s).records(2);
    expect(pages.map((p) => p.map((r) => r.recordId))).toEqual([['ada', 'bob'], ['carl']]);
    expect(pages[0][0]).toEqual({ ...ADA_RECORD, profileId: 'p_ada' });
  });

  it('dumps the resolution: partition, owners, links decoded, presented, refusals in order, aliases', async () => {
    const s = await side();
    const d = await reads(s).dump();
    expect(d.recordProfiles).toEqual(new Map([['crm/customers/ada', 'p_ada'], ['crm/customers/bob', 'p_bob'], ['crm/customers/carl', 'p_bob']]));
    expect(d.identifierOwners).toEqual(new Map([[ADA_EMAIL_KEY, 'p_ada'], [ADA_PHONE_KEY, 'p_ada'], [BOB_EMAIL_KEY, 'p_bob']]));
    expect(d.links).toEqual([
      { recordKey: 'crm/customers/ada', identifierKey: ADA_EMAIL_KEY, rule: 'mergeOn:email' },
      { recordKey: 'crm/customers/ada', identifierKey: ADA_PHONE_KEY, rule: 'mergeOn:phone' },
      { recordKey: 'crm/customers/bob', identifierKey: BOB_EMAIL_KEY, rule: 'mergeOn:email' },
      { recordKey: 'crm/customers/carl', identifierKey: BOB_EMAIL_KEY, rule: 'sameAs' },
    ]);
    expect(d.presented).toEqual([[ADA_EMAIL_KEY, 'p_bob']]);
    expect(d.refused.map((r) => [r.identifierKey, r.reason])).toEqual([[ADA_EMAIL_KEY, 'conflict'], [BOB_EMAIL_KEY, 'kept'], [ADA_PHONE_KEY, 'too many']]);
    expect(d.aliases).toEqual(new Map([['p_old', 'p_ada']]));
    expect(d.profiles.map((p) => p.id).sort()).toEqual(['p_ada', 'p_bob']);
    expect(d.merges).toEqual([]);
  });
});

describe('read side (postgres only)', () => {
  it('explain reads the records itself when not given them', async () => {
    const [, make] = SIDES[1];
    const s = await make('read_self');
    open.push(s);
    await seedPeople(s);
    expect(await recordsOfProfile(s.conn!, 'p_ada')).toEqual([{ ...ADA_RECORD, profileId: 'p_ada' }]);
    expect((await explainProfile(s.conn!, 'p_ada', [])).records).toEqual([]);
  });
});
