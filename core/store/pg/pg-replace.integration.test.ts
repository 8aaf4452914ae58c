import { afterEach, describe, expect, it } from 'vitest';
import type { ResolutionSnapshot } from '../types.js';
import { dumpResolution, replaceResolution } from './pg-snapshot.js';
import { CHUNK } from './pg-sql.js';
import { allProbabilisticLinks } from './pg-blocking.js';
import { postgresSide, type Side } from './__fixtures__/dual.js';
import { ADA_EMAIL_KEY, ADA_PHONE_KEY, AT, BOB_EMAIL_KEY, seedPeople } from './__fixtures__/people.js';

const open: Side[] = [];

/** The seeded people, with the outbox sequence past the seqs they were written with (as commits leave it). */
async function seeded(tag: string): Promise<Side> {
  const s = await postgresSide(tag);
  open.push(s);
  await seedPeople(s);
  await s.conn!.q("SELECT setval('outbox_seq_gen', (SELECT max(seq) FROM outbox))");
  return s;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

/** A rebuild's answer for the seeded people: Ada's profile renamed p_new (absorbing p_ada), Bob kept. */
async function rebuilt(s: Side): Promise<ResolutionSnapshot> {
  const before = await dumpResolution(s.conn!);
  const ada = before.profiles.find((p) => p.id === 'p_ada')!;
  const bob = before.profiles.find((p) => p.id === 'p_bob')!;
  return {
    recordProfiles: new Map([['crm/customers/ada', 'p_new'], ['crm/customers/bob', 'p_bob']]),
    profiles: [{ ...ada, id: 'p_new' }, bob],
    identifierOwners: new Map([[ADA_EMAIL_KEY, 'p_new'], [ADA_PHONE_KEY, 'p_new'], [BOB_EMAIL_KEY, 'p_bob']]),
    links: [
      { recordKey: 'crm/customers/ada', identifierKey: ADA_EMAIL_KEY, rule: 'mergeOn:email' },
      { recordKey: 'crm/customers/bob', identifierKey: BOB_EMAIL_KEY, rule: 'sameAs' },
    ],
    presented: [[ADA_EMAIL_KEY, 'p_bob'], [ADA_EMAIL_KEY, 'p_bob']],
    refused: [
      { recordKey: 'crm/customers/bob', identifierKey: ADA_EMAIL_KEY, profiles: ['p_new', 'p_bob'], reason: 'conflict', at: AT },
      { recordKey: 'crm/customers/ada', identifierKey: ADA_PHONE_KEY, profiles: [], reason: 'blocked', at: AT },
    ],
    aliases: new Map([['p_ada', 'p_new'], ['p_old', 'p_new']]),
    merges: [{ survivor: 'p_new', absorbed: 'p_ada', recordKey: 'crm/customers/ada', identifierKey: ADA_EMAIL_KEY, rule: 'mergeOn:email', at: AT }],
    probabilisticLinks: [{ recordKey: 'crm/customers/ada', otherRecordKey: 'crm/customers/bob', probability: 0.25, modelVersion: 3, evidence: [], at: AT }],
  };
}

describe('replaceResolution (postgres)', () => {
  it('replaces the partition whole and queues every profile, a merge carrying the absorbed entry to its survivor', async () => {
    const s = await seeded('replace');
    const r = await rebuilt(s);
    await replaceResolution(s.conn!, r, ['out', 'crm2']);
    const d = await dumpResolution(s.conn!);
    expect(d.recordProfiles).toEqual(r.recordProfiles);
    expect(d.identifierOwners).toEqual(r.identifierOwners);
    expect(d.links).toEqual(r.links);
    expect(d.presented).toEqual([[ADA_EMAIL_KEY, 'p_bob']]);
    expect(d.refused).toEqual(r.refused);
    expect(d.aliases).toEqual(r.aliases);
    expect(d.profiles.map((p) => p.id)).toEqual(['p_bob', 'p_new']);
    expect(d.profiles.find((p) => p.id === 'p_new')).toEqual(r.profiles[0]);
    // Links are stored against the record's own identifiers (record-links.ts).
    expect((await s.rows('records')).map((x) => x.links)).toEqual(['[0]', '[[0,"sameAs"]]']);
    const outbox = await s.rows('outbox');
    expect(outbox.sort((a, b) => Number(a.seq) - Number(b.seq)).map((o) => [o.destination, o.profile_id, o.merged_from])).toEqual([
      ['out', 'p_bob', '[]'],
      ['crm2', 'p_bob', '[]'],
      ['out', 'p_new', '["p_old","p_ada"]'],
      ['crm2', 'p_new', '["p_ada"]'],
    ]);
    // The seeded entries had seqs 1 and 2: every new one comes after them.
    expect(Math.min(...outbox.map((o) => Number(o.seq)))).toBeGreaterThan(2);
    expect((await s.rows('merges')).map((m) => [m.survivor, m.absorbed])).toEqual([['p_ada', 'p_old'], ['p_new', 'p_ada']]);
    expect(await allProbabilisticLinks(s.conn!)).toEqual(r.probabilisticLinks);
  });

  it('is one transaction: a failing write leaves the stored resolution as it was', async () => {
    const s = await seeded('replace_tx');
    const before = await dumpResolution(s.conn!);
    const outboxBefore = await s.rows('outbox');
    const r = await rebuilt(s);
    // The last write (the merge history) fails on its NOT NULL column.
    r.merges[0].at = null as unknown as string;
    await expect(replaceResolution(s.conn!, r, ['out'])).rejects.toThrow(/null value/);
    expect(await dumpResolution(s.conn!)).toEqual(before);
    expect(await s.rows('outbox')).toEqual(outboxBefore);
  });

  it('without probabilistic links given, keeps the stored ones', async () => {
    const s = await seeded('replace_links');
    const kept = await allProbabilisticLinks(s.conn!);
    const r = { ...(await rebuilt(s)), probabilisticLinks: undefined };
    await replaceResolution(s.conn!, r, []);
    expect(await allProbabilisticLinks(s.conn!)).toEqual(kept);
    expect(await s.rows('outbox')).toHaveLength(2);
  });
});

describe('replaceResolution in several statements (postgres)', () => {
  it('writes more rows than one statement takes (CHUNK) without losing or mixing any', async () => {
    const s = await seeded('replace_chunks');
    const conn = s.conn!;
    const n = CHUNK * 2 + 7;
    const ids = Array.from({ length: n }, (_, i) => i);
    await conn.q(
      `INSERT INTO records(key, source, stream, record_id, profile_id, kind, observed_at, body)
       SELECT 'crm/bulk/' || i, 'crm', 'bulk', i::text, 'old', 'identify', $2, '{"identifiers":[{"type":"email","value":"u' || i || '@x.io"}]}'
       FROM unnest($1::int[]) AS i`,
      [ids, AT],
    );
    const template = (await dumpResolution(conn)).profiles[0];
    const r: ResolutionSnapshot = {
      recordProfiles: new Map(ids.map((i) => [`crm/bulk/${i}`, `p${i}`])),
      profiles: ids.map((i) => ({ ...template, id: `p${i}` })),
      identifierOwners: new Map(ids.map((i) => [`email\u0000u${i}@x.io`, `p${i}`])),
      links: ids.map((i) => ({ recordKey: `crm/bulk/${i}`, identifierKey: `email\u0000u${i}@x.io`, rule: 'mergeOn:email' })),
      presented: [],
      refused: [],
      aliases: new Map(),
      merges: [],
    };
    await replaceResolution(conn, r, ['out']);
    const d = await dumpResolution(conn);
    // The seeded people's records are not in this snapshot: they keep their rows.
    const bulk = (key: string) => key.startsWith('crm/bulk/');
    expect(new Map([...d.recordProfiles].filter(([k]) => bulk(k)))).toEqual(r.recordProfiles);
    expect(d.identifierOwners).toEqual(r.identifierOwners);
    expect(d.links.filter((l) => bulk(l.recordKey))).toEqual(r.links);
    expect(d.profiles).toHaveLength(n);
    const outbox = await conn.q<{ profile_id: string; seq: string }>("SELECT profile_id, seq FROM outbox WHERE destination = 'out' AND profile_id NOT IN ('p_ada', 'p_bob') ORDER BY seq");
    // One entry per profile, queued in the snapshot's order.
    expect(outbox.map((o) => o.profile_id)).toEqual(ids.map((i) => `p${i}`));
  });
});
