import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProfileState } from '../resolution/types.js';
import { decodeProfile, encodeProfile } from './profile-codec.js';
import { SqliteStore } from './sqlite-store.js';
import { SCHEMA_VERSION } from './sqlite-schema.js';

type Row = Record<string, unknown>;

function profile(): ProfileState {
  const crm = 'crm/customers/500';
  const news = 'newsletter/subscribers/n500';
  const shop = 'shop/orders/o39500';
  return {
    id: 'prof_0mx4ry00w00dxb75ddfd54275',
    createdAt: '2026-12-01T14:10:27.621Z',
    updatedAt: '2026-12-01T14:11:02.763Z',
    identifiers: ['email\u0000user500@mail-box.net', 'external_id:crm\u0000500', 'phone\u0000+14152000500'],
    recordCount: 3,
    traits: { firstName: 'Ann', lastName: 'Rossi', email: 'user500@mail-box.net', phone: '+14152000500', consent: { newsletter: true } },
    traitSources: { firstName: news, lastName: crm, email: news, phone: crm, 'consent.newsletter': news },
    computed: { orders_count: 1, lifetime_value: 0.99 },
    aggregates: {
      traits: {
        firstName: { v: 'Ann', at: '2026-03-01T00:00:00.000Z', src: news },
        lastName: { v: 'Rossi', at: '2026-01-25T10:00:00.000Z', src: crm },
        email: { v: 'user500@mail-box.net', at: '2026-03-01T00:00:00.000Z', src: news },
        phone: { v: '+14152000500', at: '2026-01-25T10:00:00.000Z', src: crm },
        'consent.newsletter': { v: true, at: '2026-03-01T00:00:00.000Z', src: news },
      },
      computed: {
        orders_count: { v: 1, at: '2026-02-21T12:00:00.000Z', src: shop },
        lifetime_value: { v: 0.99, at: '2026-02-21T12:00:00.000Z', src: shop },
      },
    },
    names: { given: { ann: 2 }, family: { rossi: 1 }, dob: {}, postcode: {} },
  };
}

/** What the store hands back for a profile it was given. */
function roundTrip(p: ProfileState): ProfileState {
  return decodeProfile(encodeProfile(p), p.id, p.createdAt, p.updatedAt);
}

describe('profile bodies (compact form)', () => {
  it('give back exactly the profile that was stored, key order included, in under 60% of the bytes', () => {
    const p = profile();
    const back = roundTrip(p);
    expect(JSON.stringify(back)).toBe(JSON.stringify(p));
    expect(encodeProfile(p).length).toBeLessThan(JSON.stringify(p).length * 0.6);
  });

  it('keep what the compact form cannot say as it is: other sources, times in other shapes, cells of another shape', () => {
    const p = profile();
    p.traitSources.firstName = 'crm/customers/500';
    const agg = p.aggregates as { traits: Record<string, unknown>; computed: Record<string, unknown>; counts?: unknown };
    agg.traits.lastName = { v: 'Rossi', at: '2026-01-25', src: 'crm/customers/500' };
    agg.traits.phone = { v: '+14152000500', at: '2026-01-25T10:00:00Z', src: 'crm/customers/500' };
    agg.computed.orders_count = { v: 1, at: '2026-02-21T12:00:00.000Z', src: 'shop/orders/o1', n: 4 };
    agg.counts = { firstName: { ann: 2, anne: 1 } };
    p.traits = { ...p.traits, nickname: 'Annie' };
    expect(JSON.stringify(roundTrip(p))).toBe(JSON.stringify(p));
    // A cell without a value reads back as plain JSON would have it (no `v`), not as `v: null`.
    const q = profile();
    (q.aggregates.traits as Record<string, unknown>).firstName = { v: undefined, at: '2026-03-01T00:00:00.000Z', src: 'a' };
    expect(roundTrip(q)).toStrictEqual(JSON.parse(JSON.stringify(q)));
  });

  it('fall back to plain JSON where a packed cell would be ambiguous', () => {
    for (const change of [
      (p: ProfileState) => ((p.aggregates.traits as Record<string, unknown>).firstName = ['Ann', 1, 0]),
      (p: ProfileState) => ((p as unknown as Row).$s = ['x']),
      (p: ProfileState) => (p.traitSources = 0 as unknown as Record<string, string>),
    ]) {
      const p = profile();
      change(p);
      const plain = JSON.parse(JSON.stringify(p)) as ProfileState;
      expect(encodeProfile(p)).toBe(JSON.stringify(p));
      expect(roundTrip(p)).toStrictEqual(plain);
    }
  });

  it('write `traitSources` as 0 only when it names every cell, in the cells order, by its source', () => {
    const cases: Array<(s: Record<string, string>) => Record<string, string>> = [
      ({ 'consent.newsletter': _dropped, ...rest }) => rest, // the last cell not named
      (s) => ({ ...s, nickname: s.firstName }), // one name too many
      ({ firstName, ...rest }) => ({ ...rest, firstName }), // the same names in another order
    ];
    for (const change of cases) {
      const p = profile();
      p.traitSources = change(p.traitSources);
      expect(encodeProfile(p)).not.toContain('"traitSources":0');
      expect(JSON.stringify(roundTrip(p))).toBe(JSON.stringify(p));
    }
    expect(encodeProfile(profile())).toContain('"traitSources":0');
    // Id and times not the first three keys: only plain JSON keeps the order.
    const { id, ...rest } = profile();
    const moved = { ...rest, id } as ProfileState;
    expect(encodeProfile(moved)).toBe(JSON.stringify(moved));
  });

  it('compact a profile with a key left undefined (no name guard) and read it back as JSON would', () => {
    const p = { ...profile(), names: undefined };
    expect(encodeProfile(p)).not.toContain('"id"');
    expect(roundTrip(p)).toStrictEqual(JSON.parse(JSON.stringify(p)));
  });

  it('write a cell\'s time once per source, and keep the time of a cell whose time is not its source\'s', () => {
    const p = profile();
    const body = JSON.parse(encodeProfile(p)) as { $s: string[]; $t: string[]; aggregates: { traits: Record<string, unknown[]> } };
    expect(body.$t).toStrictEqual(['2026-03-01T00:00:00.000Z', '2026-01-25T10:00:00.000Z', '2026-02-21T12:00:00.000Z']);
    expect(body.aggregates.traits.firstName).toStrictEqual(['Ann', 0]);
    expect(body.aggregates.traits.phone).toStrictEqual(['+14152000500', 1]);
    // The same source seen again at another time (a later record of a stream with one key): that cell says its time.
    const q = profile();
    const cells = q.aggregates.traits as Record<string, { v: unknown; at: string; src: string }>;
    cells.email = { ...cells.email, at: '2026-04-02T08:00:00.000Z' };
    const packed = JSON.parse(encodeProfile(q)) as { aggregates: { traits: Record<string, unknown[]> } };
    expect(packed.aggregates.traits.email).toStrictEqual(['user500@mail-box.net', '2026-04-02T08:00:00.000Z', 0]);
    expect(JSON.stringify(roundTrip(q))).toBe(JSON.stringify(q));
  });

  it('write `computed` as 0 only when it is exactly the values of the computed cells', () => {
    expect(encodeProfile(profile())).toContain('"computed":0');
    const changes: Array<(c: Record<string, unknown>) => Record<string, unknown>> = [
      (c) => ({ ...c, orders_count: 2 }), // a value the cell does not hold
      ({ lifetime_value, ...rest }) => ({ lifetime_value, ...rest }), // another order
      ({ lifetime_value: _dropped, ...rest }) => rest, // a cell without its value
    ];
    for (const change of changes) {
      const p = profile();
      p.computed = change(p.computed) as ProfileState['computed'];
      expect(encodeProfile(p)).not.toContain('"computed":0');
      expect(JSON.stringify(roundTrip(p))).toBe(JSON.stringify(p));
    }
  });

  it('read a compact body written before the seventh session ([v, at, i] cells, no $t, computed spelt out) as it was', () => {
    const p = profile();
    const news = 'newsletter/subscribers/n500';
    const old = {
      identifiers: p.identifiers,
      recordCount: 3,
      traits: 0,
      traitSources: 0,
      computed: { orders_count: 1, lifetime_value: 0.99 },
      aggregates: {
        traits: {
          firstName: ['Ann', '2026-03-01T00:00:00.000Z', 0],
          lastName: ['Rossi', '2026-01-25T10:00:00.000Z', 1],
          email: ['user500@mail-box.net', '2026-03-01T00:00:00.000Z', 0],
          phone: ['+14152000500', '2026-01-25T10:00:00.000Z', 1],
          'consent.newsletter': [true, '2026-03-01T00:00:00.000Z', 0],
        },
        computed: { orders_count: [1, '2026-02-21T12:00:00.000Z', 2], lifetime_value: [0.99, '2026-02-21T12:00:00.000Z', 2] },
      },
      names: p.names,
      $s: [news, 'crm/customers/500', 'shop/orders/o39500'],
    };
    expect(JSON.stringify(decodeProfile(JSON.stringify(old), p.id, p.createdAt, p.updatedAt))).toBe(JSON.stringify(p));
    expect(encodeProfile(p).length).toBeLessThan(JSON.stringify(old).length * 0.85);
  });

  it('read a body written before schema 3 (it carries its own id and times) as it is', () => {
    const p = profile();
    expect(decodeProfile(JSON.stringify(p), 'other', 'x', 'y')).toStrictEqual(p);
  });
});

describe('schema 3 migration of a store written by schema 2', () => {
  const dirs: string[] = [];
  afterEach(() => {
    while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
  });

  it('rewrites every profile body and record links compactly, and every read gives back what schema 2 stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-codec-'));
    dirs.push(dir);
    const file = join(dir, 'store.db');
    copyFileSync(new URL('./__fixtures__/schema-v2/store.db', import.meta.url), file);
    const old = new Database(file, { readonly: true });
    const before = old.prepare('SELECT id, body FROM profiles ORDER BY id').all() as Row[];
    const version = old.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get();
    const bytesBefore = Number(old.prepare('SELECT SUM(length(body)) FROM profiles').pluck().get());
    const linksBefore = (old.prepare("SELECT key, links FROM records WHERE links != '[]' ORDER BY key").all() as Row[]).flatMap((r) =>
      (JSON.parse(r.links as string) as Array<[string, string]>).map(([identifierKey, rule]) => ({ recordKey: r.key as string, identifierKey, rule })),
    );
    const linkBytesBefore = Number(old.prepare('SELECT SUM(length(links)) FROM records').pluck().get());
    old.close();
    expect(version).toBe('2');
    expect(before.length).toBeGreaterThan(5);

    const store = new SqliteStore(file);
    try {
      expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
      const ids = before.map((r) => r.id as string);
      const read = await store.getProfiles(ids);
      for (const r of before) expect(JSON.stringify(read.get(r.id as string))).toBe(r.body);
      const snapshot = await store.dumpResolution();
      const byKey = (a: { recordKey: string }, b: { recordKey: string }) => a.recordKey.localeCompare(b.recordKey);
      expect(linksBefore.length).toBeGreaterThan(10);
      expect([...snapshot.links].sort(byKey)).toStrictEqual([...linksBefore].sort(byKey));
      const dumped = [...snapshot.profiles].sort((a, b) => a.id.localeCompare(b.id));
      expect(dumped.map((p) => JSON.stringify(p))).toStrictEqual(before.map((r) => r.body));
      // The merged profile still explains itself, consent included (read from the compact body).
      const [survivor] = await store.lookupIdentifiers(['email\u0000farid@mail-box.net']).then((m) => [...m.values()]);
      const explained = await store.explain(survivor);
      expect(explained.merges.length).toBe(1);
      expect(explained.records.length).toBe(3);
      const withConsent = [...read.values()].find((p) => (p.traits.consent as Record<string, unknown> | undefined)?.newsletter !== undefined)!;
      expect((await store.explain(withConsent.id)).consent?.[0]?.purpose).toBe('newsletter');
      // What `resolve --rebuild` writes back keeps the compact links and reads back the same.
      await store.replaceResolution(snapshot, []);
      expect([...(await store.dumpResolution()).links].sort(byKey)).toStrictEqual([...linksBefore].sort(byKey));
    } finally {
      await store.close();
    }
    const after = new Database(file, { readonly: true });
    const bytesAfter = Number(after.prepare('SELECT SUM(length(body)) FROM profiles').pluck().get());
    const linkBytesAfter = Number(after.prepare('SELECT SUM(length(links)) FROM records').pluck().get());
    const plainLeft = Number(after.prepare("SELECT COUNT(*) FROM profiles WHERE json_extract(body, '$.id') IS NOT NULL").pluck().get());
    after.close();
    expect(plainLeft).toBe(0);
    expect(bytesAfter).toBeLessThan(bytesBefore * 0.6);
    expect(linkBytesAfter).toBeLessThan(linkBytesBefore * 0.5);
  });
});
