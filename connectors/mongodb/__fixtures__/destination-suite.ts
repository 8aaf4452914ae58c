/**
 * What the mongodb destination must do, run against the fake server
 * (destination.test.ts) and against a real mongod when MONGODB_URL is set
 * (mongodb.integration.test.ts). Every collection is read back through the
 * real driver.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DestinationItem, ProfileDocument, WriteResult } from '../../../core/plugin/types.js';
import { testContext } from '../../../test/kit/context.js';
import { destinationConnectorKit, sampleProfiles } from '../../../test/kit/destination-kit.js';
import type { MongodbDestinationConfig } from '../destination-config.js';
import { mongodbDestination } from '../destination.js';

export interface MongoTarget {
  url: string;
  database: string;
  teardown(): Promise<void>;
}

export interface MongodbDestinationSuiteOptions {
  target(): Promise<MongoTarget>;
  /** Make the server refuse documents of `collection` whose `traits.firstName` is not a string (a validator, code 121). */
  requireStringFirstName(target: MongoTarget, collection: string): Promise<void>;
  /** Make the next write fail in a way that must be retryable (a dropped connection). */
  failRetryable?(target: MongoTarget): Promise<void>;
}

const upsert = (p: ProfileDocument, payload?: Record<string, unknown>): DestinationItem => ({ key: p.id, op: 'upsert', profile: p, ...(payload ? { payload } : {}) });
const remove = (id: string): DestinationItem => ({ key: id, op: 'delete', previous: { ref: id }, reason: 'merged' });
const statuses = (r: WriteResult[]) => r.map((x) => x.status);
/** A profile the validator refuses: a number where a string must be. */
const invalid = (id: string): ProfileDocument => ({ ...sampleProfiles(1, id)[0], traits: { firstName: 42 } });

export function mongodbDestinationSuite(o: MongodbDestinationSuiteOptions): void {
  let target: MongoTarget;
  let client: MongoClient;
  const collection = () => `c_${randomBytes(4).toString('hex')}`;
  const config = (over: Partial<MongodbDestinationConfig>) =>
    mongodbDestination.spec.config.parse({ url: target.url, database: target.database, collection: 'unset', connectTimeoutMs: 5000, ...over });
  const write = (c: MongodbDestinationConfig, items: DestinationItem[]) => mongodbDestination.write(testContext(c), items);
  const docs = async (name: string): Promise<Map<string, Document>> => {
    const all = await client.db(target.database).collection<{ _id: string }>(name).find({}).toArray();
    return new Map(all.map((d) => [String(d._id), d]));
  };
  const kitCollection = `kit_${process.pid}`;

  beforeAll(async () => {
    target = await o.target();
    client = new MongoClient(target.url, { serverSelectionTimeoutMS: 5000 });
    await o.requireStringFirstName(target, kitCollection);
  });
  afterAll(async () => {
    await client?.close();
    await target?.teardown();
  });

  destinationConnectorKit<MongodbDestinationConfig>({
    connector: mongodbDestination,
    setup: async () => config({ collection: kitCollection }),
    readBack: async () => docs(kitCollection),
    ...(o.failRetryable ? { failRetryable: () => o.failRetryable!(target) } : {}),
    permanentItem: upsert(invalid('bad')),
    badConfigs: [
      { name: 'not a mongodb URL', config: { url: 'postgres://db:5432/app', database: 'app', collection: 'p' }, message: /url: .*mongodb:\/\// },
      { name: 'no collection', config: { url: 'mongodb://127.0.0.1:27017', database: 'app' }, message: /collection: / },
      { name: 'mirror with deletedAtField', config: { url: 'mongodb://127.0.0.1:27017', database: 'app', collection: 'p', mirror: true, deletedAtField: 'goneAt' }, message: /deletedAtField: .*without mirror/ },
      { name: 'profileField _id', config: { url: 'mongodb://127.0.0.1:27017', database: 'app', collection: 'p', profileField: '_id' }, message: /profileField: expected top-level field names/ },
      {
        name: 'unreachable host, password not echoed',
        config: { url: 'mongodb://writer:s3cret-Pa55@127.0.0.1:1/?directConnection=true', database: 'app', collection: 'p', connectTimeoutMs: 500 },
        message: /^cannot connect to MongoDB at 127\.0\.0\.1:1: (?!.*s3cret-Pa55).*$/,
      },
    ],
  });

  describe('mongodb destination', () => {
    it('stores the profile as the document (_id = profile id); with a mapping, the mapped fields and the profile in profileField', async () => {
      const name = collection();
      const [a, b] = sampleProfiles(2);
      expect(statuses(await write(config({ collection: name }), [upsert(a)]))).toEqual(['ok']);
      const { id: _unused, ...rest } = a;
      expect((await docs(name)).get('p0')).toEqual({ _id: 'p0', ...rest });

      expect(statuses(await write(config({ collection: name }), [upsert(b, { email: 'user1@example.com', score: 3 })]))).toEqual(['ok']);
      expect((await docs(name)).get('p1')).toEqual({ _id: 'p1', email: 'user1@example.com', score: 3, profile: b });
      await write(config({ collection: name, profileField: false }), [upsert(b, { email: 'x@example.com' })]);
      expect((await docs(name)).get('p1')).toEqual({ _id: 'p1', email: 'x@example.com' });
    });

    it('upserts replace in place: one document per profile, the last item of a batch wins', async () => {
      const name = collection();
      const c = config({ collection: name });
      const [p] = sampleProfiles(1);
      await write(c, [upsert(p, { city: 'Lyon', zip: '69001' })]);
      const res = await write(c, [upsert(p, { city: 'Paris' }), upsert(p, { city: 'Nice' })]);
      expect(statuses(res)).toEqual(['ok', 'ok']);
      const held = await docs(name);
      expect(held.size).toBe(1);
      // Replaced, not merged: the field the new payload lacks is gone.
      expect(held.get('p0')).toEqual({ _id: 'p0', city: 'Nice', profile: p });
    });

    it('mirror deletes exactly the documents of the delete items', async () => {
      const name = collection();
      const c = config({ collection: name, mirror: true });
      await write(c, sampleProfiles(4).map((p) => upsert(p)));
      await client.db(target.database).collection<{ _id: string }>(name).insertOne({ _id: 'written-by-someone-else' });
      expect(statuses(await write(c, [remove('p1'), remove('p3'), remove('never-written')]))).toEqual(['ok', 'ok', 'ok']);
      expect([...(await docs(name)).keys()].sort()).toEqual(['p0', 'p2', 'written-by-someone-else']);
    });

    it('without mirror deletes keep the document; with deletedAtField it is stamped, and the next upsert clears it', async () => {
      const name = collection();
      await write(config({ collection: name }), sampleProfiles(2).map((p) => upsert(p)));
      expect(statuses(await write(config({ collection: name }), [remove('p0')]))).toEqual(['ok']);
      expect((await docs(name)).size).toBe(2);
      const stamp = config({ collection: name, deletedAtField: 'deletedAt' });
      expect(statuses(await write(stamp, [remove('p0'), remove('nobody')]))).toEqual(['ok', 'ok']);
      let held = await docs(name);
      expect(held.size).toBe(2);
      expect(held.get('p0')!.deletedAt).toBeInstanceOf(Date);
      expect(held.get('p1')!.deletedAt).toBeUndefined();
      await write(stamp, [upsert(sampleProfiles(1)[0])]);
      held = await docs(name);
      expect(held.get('p0')!.deletedAt).toBeUndefined();
    });

    it('one refused document in an unordered batch: the others are written, the refused one is permanent with the server reason', async () => {
      const name = collection();
      await o.requireStringFirstName(target, name);
      const c = config({ collection: name, mirror: true });
      const ps = sampleProfiles(4);
      await write(c, [upsert(ps[3])]);
      const res = await write(c, [upsert(ps[0]), remove('p3'), upsert(invalid('x')), upsert(ps[2])]);
      expect(statuses(res)).toEqual(['ok', 'ok', 'permanent', 'ok']);
      expect((res[2] as { reason: string }).reason).toMatch(/^MongoDB refused the document \(code 121\): .*validation/i);
      expect([...(await docs(name)).keys()].sort()).toEqual(['p0', 'p2']);
    });

    it('a document over 16 MB is permanent on its own; the rest of the batch is written', async () => {
      const name = collection();
      const [a, b] = sampleProfiles(2);
      const huge = { ...a, traits: { blob: 'x'.repeat(17 * 1024 * 1024) } };
      const res = await write(config({ collection: name }), [upsert(huge), upsert(b)]);
      expect(statuses(res)).toEqual(['permanent', 'ok']);
      expect((res[0] as { reason: string }).reason).toMatch(/over MongoDB's limit/);
      expect([...(await docs(name)).keys()]).toEqual(['p1']);
    });
  });
}
