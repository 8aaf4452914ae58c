import { afterEach, describe, expect, it } from 'vitest';
import type { ProbabilisticLink } from '../../resolution/types.js';
import * as sqliteBlocking from '../sqlite-blocking.js';
import * as pgBlocking from './pg-blocking.js';
import { PgConn } from './pg-conn.js';
import { SIDES, type Side } from './__fixtures__/dual.js';
import { TEST_PG_URL } from './__fixtures__/pg-test.js';
import { AT, putRecord, record } from './__fixtures__/people.js';

type Fns = {
  [K in 'candidatesByBlockingKey' | 'saveBlockingKeys' | 'saveProbabilisticLinks' | 'allProbabilisticLinks' | 'probabilisticLinksOfProfile' | 'saveMatchModel' | 'latestMatchModel']: (
    ...args: never[]
  ) => unknown;
};

/** The blocking functions of either store, with the connection bound and every result a promise. */
function blocking(s: Side) {
  const on = s.db ?? s.conn!;
  const lib = (s.db ? sqliteBlocking : pgBlocking) as unknown as Record<keyof Fns, (c: unknown, ...a: unknown[]) => unknown>;
  const call = <T>(k: keyof Fns, ...a: unknown[]) => Promise.resolve(lib[k](on, ...a)) as Promise<T>;
  return {
    candidates: (keys: string[], perKey: number) => call<Map<string, Array<{ recordId: string; profileId: string }>>>('candidatesByBlockingKey', keys, perKey),
    saveKeys: (entries: Array<[string, string[]]>) => call<void>('saveBlockingKeys', entries),
    saveLinks: (links: ProbabilisticLink[]) => call<void>('saveProbabilisticLinks', links),
    allLinks: () => call<ProbabilisticLink[]>('allProbabilisticLinks'),
    linksOf: (id: string) => call<ProbabilisticLink[]>('probabilisticLinksOfProfile', id),
    saveModel: (resolver: string, at: string, body: (v: number) => string) => call<number>('saveMatchModel', resolver, at, body),
    latestModel: (resolver: string) => call<{ version: number; body: string; trainedAt: string } | undefined>('latestMatchModel', resolver),
  };
}

const open: Side[] = [];
const conns: PgConn[] = [];
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.close()));
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const link = (a: string, b: string, p: number): ProbabilisticLink => ({ recordKey: a, otherRecordKey: b, probability: p, modelVersion: 2, evidence: [{ comparison: 'name', level: 'exact', weight: 3.5 }], at: AT });

describe.each(SIDES)('blocking keys, probabilistic links, match models (%s)', (name, make) => {
  const side = async () => {
    const s = await make(`blk_${name}`);
    open.push(s);
    for (const [id, p] of [['r1', 'p1'], ['r2', 'p1'], ['r3', 'p2'], ['r4', 'p3']]) await putRecord(s, record(id, [{ type: 'email', value: `${id}@x.io` }]), p);
    return s;
  };

  it('finds each key\'s newest records, each record parsed once, keys without records left out; a re-read replaces its keys', async () => {
    const s = await side();
    const b = blocking(s);
    await b.saveKeys([['crm/customers/r1', ['dob:1', 'zip:9']], ['crm/customers/r2', ['dob:1']], ['crm/customers/r3', ['dob:1', 'zip:9']], ['crm/customers/r4', ['zip:8']]]);
    const found = await b.candidates(['zip:9', 'dob:1', 'zip:9', 'none'], 2);
    expect([...found.keys()]).toEqual(['zip:9', 'dob:1']);
    expect(found.get('zip:9')!.map((r) => [r.recordId, r.profileId])).toEqual([['r3', 'p2'], ['r1', 'p1']]);
    expect(found.get('dob:1')!.map((r) => r.recordId)).toEqual(['r3', 'r2']);
    expect(found.get('zip:9')![0]).toBe(found.get('dob:1')![0]);
    // r3 read again with other traits: its old keys go.
    await b.saveKeys([['crm/customers/r3', ['zip:8']]]);
    expect((await b.candidates(['dob:1'], 5)).get('dob:1')!.map((r) => r.recordId)).toEqual(['r2', 'r1']);
    expect((await b.candidates(['zip:8'], 5)).get('zip:8')!.map((r) => r.recordId)).toEqual(['r4', 'r3']);
    expect(await b.candidates([], 5)).toEqual(new Map());
  });

  it('keeps probabilistic links in order, per profile newest first', async () => {
    const s = await side();
    const b = blocking(s);
    const links = [link('crm/customers/r1', 'crm/customers/r3', 0.91), link('crm/customers/r4', 'crm/customers/r2', 0.125), link('crm/customers/r3', 'crm/customers/r4', 0.5)];
    await b.saveLinks(links);
    expect(await b.allLinks()).toEqual(links);
    expect(await b.linksOf('p1')).toEqual([links[1], links[0]]);
    expect(await b.linksOf('p3')).toEqual([links[2], links[1]]);
    expect(await b.linksOf('nobody')).toEqual([]);
  });

  it('versions a resolver\'s models one after the other', async () => {
    const s = await side();
    const b = blocking(s);
    expect(await b.latestModel('fs')).toBeUndefined();
    expect(await b.saveModel('fs', AT, (v) => `{"v":${v}}`)).toBe(1);
    expect(await b.saveModel('fs', AT, (v) => `{"v":${v}}`)).toBe(2);
    expect(await b.saveModel('other', AT, () => '{}')).toBe(1);
    expect(await b.latestModel('fs')).toMatchObject({ resolver: 'fs', version: 2, body: '{"v":2}', trainedAt: AT });
  });
});

describe('blocking (postgres only)', () => {
  it('workers training at once get one version each', async () => {
    const [, make] = SIDES[1];
    const s = await make('blk_race');
    open.push(s);
    const workers = Array.from({ length: 4 }, () => new PgConn({ url: TEST_PG_URL, schema: s.conn!.schema }));
    conns.push(...workers);
    const versions = await Promise.all(workers.map((c) => pgBlocking.saveMatchModel(c, 'fs', AT, (v) => `{"v":${v}}`)));
    expect([...versions].sort()).toEqual([1, 2, 3, 4]);
  });

  it('saveBlockingKeys inside a caller\'s transaction is rolled back with it', async () => {
    const [, make] = SIDES[1];
    const s = await make('blk_tx');
    open.push(s);
    await putRecord(s, record('r1', [{ type: 'email', value: 'r1@x.io' }]), 'p1');
    const conn = s.conn!;
    await expect(
      conn.tx(async () => {
        await pgBlocking.saveBlockingKeys(conn, [['crm/customers/r1', ['dob:1']]]);
        throw new Error('batch failed');
      }),
    ).rejects.toThrow('batch failed');
    expect(await pgBlocking.candidatesByBlockingKey(conn, ['dob:1'], 5)).toEqual(new Map());
  });
});
