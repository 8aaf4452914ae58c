import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identifierKey, type CanonicalRecord } from '../../schema/canonical.js';
import type { MergeEvent, ProfileState, ResolutionResult } from '../../resolution/types.js';
import { SqliteStore } from '../sqlite-store.js';
import type { BatchCommit, ProfileStore } from '../types.js';
import { PgStore } from './pg-store.js';
import { TEST_PG_URL, dropSchema, uniqueSchema } from './__fixtures__/pg-test.js';
import { dumpPg, dumpSqlite } from './__fixtures__/scenario.js';

// Hand-made batches, committed to both stores: the corners the generated
// scenario rarely reaches (a merge chain inside one batch carrying queued
// outbox entries, presenters past the limit, a value holding \u0001 and NUL,
// runs). Each store's answers are checked, and the PostgreSQL tables against SQLite's.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const backends: Array<[string, () => Promise<ProfileStore>]> = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), `trib-pgunit-${process.pid}-`));
      const s = new SqliteStore(join(dir, 's.db'));
      cleanups.push(async () => (await s.close(), rmSync(dir, { recursive: true, force: true })));
      return s;
    },
  ],
  [
    'postgres',
    async () => {
      const schema = uniqueSchema('unit');
      const s = await PgStore.open({ url: TEST_PG_URL, schema });
      cleanups.push(async () => (await s.close(), await dropSchema(schema)));
      return s;
    },
  ],
];

const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
const email = (v: string) => identifierKey({ type: 'email', value: v });

function rec(id: string, emails: string[]): CanonicalRecord {
  return { kind: 'identify', source: 's', stream: 'x', recordId: id, observedAt: at(1), identifiers: emails.map((value) => ({ type: 'email', value })), traits: { id } } as CanonicalRecord;
}

function profile(id: string, n: number, ids: string[]): ProfileState {
  return { id, createdAt: at(n), updatedAt: at(n + 10), identifiers: ids, recordCount: 1, traits: { n }, traitSources: {}, computed: {}, aggregates: {} } as unknown as ProfileState;
}

function batch(records: CanonicalRecord[], r: Partial<ResolutionResult>, dest = ['d']): BatchCommit {
  return {
    sync: 's',
    records,
    resolution: { assignments: new Map(), links: [], identifierOwners: new Map(), merges: [], refused: [], profiles: [], genericValues: [], presented: [], ...r },
    deadLetters: [],
    checkpoints: [],
    destinations: dest,
  };
}

const merge = (survivor: string, absorbed: string): MergeEvent => ({ survivor, absorbed, recordKey: 's/x/r4', identifierKey: email('e1'), rule: 'mergeOn:email', at: at(50) });

/** Three profiles, then a batch merging p3 into p2 and p2 into p1 (a chain), while p2 and p3 were still queued. */
async function chain(store: ProfileStore) {
  const odd = 'we\u00011rd\u00010\u0000value';
  const first = [rec('r1', ['e1']), rec('r2', ['e2']), rec('r3', ['e3', odd])];
  await store.commitBatch(
    batch(first, {
      assignments: new Map([['s/x/r1', 'p1'], ['s/x/r2', 'p2'], ['s/x/r3', 'p3']]),
      identifierOwners: new Map([[email('e1'), 'p1'], [email('e2'), 'p2'], [email('e3'), 'p3'], [email(odd), 'p3']]),
      profiles: [profile('p1', 1, [email('e1')]), profile('p2', 2, [email('e2')]), profile('p3', 3, [email('e3'), email(odd)])],
      presented: [[email('e1'), 'p3'], [email('e1'), 'p2'], [email('e3'), 'p2']],
    }),
  );
  // p1's entry was delivered: only p2's and p3's are queued when they are merged.
  const queued = await store.pendingOutbox('d', 10);
  await store.ackOutbox('d', queued.filter((e) => e.profileId === 'p1'));
  await store.exclusive(() =>
    store.commitBatch(
      batch([rec('r4', ['e1', 'e2'])], {
        assignments: new Map([['s/x/r4', 'p1']]),
        merges: [merge('p2', 'p3'), merge('p1', 'p2')],
        identifierOwners: new Map([[email('e2'), 'p1']]),
        profiles: [profile('p1', 1, [email('e1'), email('e2'), email('e3'), email(odd)])],
      }),
    ),
  );
  return { odd };
}

describe.each(backends)('commitBatch corners on %s', (_name, open) => {
  it('a merge chain in one batch hands everything to the last survivor and carries the queued entries', async () => {
    const store = await open();
    const { odd } = await chain(store);
    expect((await store.recordsOfProfiles(['p1'])).map((r) => r.recordId)).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(await store.lookupIdentifiers([email('e3'), email(odd), email('nobody')])).toEqual(new Map([[email('e3'), 'p1'], [email(odd), 'p1']]));
    expect(await store.resolveProfileId('p3')).toBe('p1');
    expect(await store.resolveProfileId('p2')).toBe('p1');
    expect([...(await store.getProfiles(['p3', 'p1'])).keys()]).toEqual(['p1']);
    // One entry for p1, carrying both absorbed profiles (p3 went into p2 first): a destination deletes both.
    const out = await store.pendingOutbox('d', 10);
    expect(out.map((e) => [e.profileId, e.mergedFrom])).toEqual([['p1', ['p3', 'p2']]]);
    // e1 is p1's own now: p1 is not a presenter of it; p2's and p3's presentations went to p1 or were dropped as owned.
    expect(await store.presentedBy([email('e1'), email('e3')])).toEqual(new Map());
    expect((await store.explain('p1')).aliases).toEqual(['p2', 'p3']);
  });

  it('presenters of a value: oldest profile first, at most `limit`, keys in the order asked', async () => {
    const store = await open();
    const k = email('shared');
    await store.commitBatch(
      batch([rec('a', ['shared']), rec('b', []), rec('c', []), rec('d', [])], {
        assignments: new Map([['s/x/a', 'pa'], ['s/x/b', 'pb'], ['s/x/c', 'pc'], ['s/x/d', 'pd']]),
        identifierOwners: new Map([[k, 'pa'], [email('other'), 'pb']]),
        profiles: [profile('pa', 1, [k]), profile('pd', 2, []), profile('pc', 3, []), profile('pb', 4, [])],
        presented: [[k, 'pb'], [k, 'pc'], [k, 'pd'], [email('other'), 'pc']],
      }),
    );
    const p = await store.presentersOf!([email('other'), k, email('none')], 2);
    expect([...p]).toEqual([[email('other'), ['pc']], [k, ['pd', 'pc']]]);
    expect(await store.presentedBy([k, email('other')])).toEqual(new Map([[k, 3], [email('other'), 1]]));
    expect((await store.existingRecords(['s/x/d', 's/x/zz', 's/x/a'])).size).toBe(2);
  });
});

describe('PostgreSQL tables equal SQLite after the corner batches', () => {
  it('merge chain, odd identifier values, outbox carry', async () => {
    const [sq, pg] = [await backends[0][1](), await backends[1][1]()];
    await chain(sq);
    await chain(pg);
    const a = dumpSqlite(sq as SqliteStore);
    const b = await dumpPg((pg as PgStore).conn);
    for (const t of Object.keys(a)) expect({ t, rows: b[t] }).toEqual({ t, rows: a[t] });
  });
});
