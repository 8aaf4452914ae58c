/**
 * The source-kit setup shared by the fake-server test and the real-server
 * integration test: the same seed data, written through the real driver, and
 * the same expectations.
 */
import { MongoClient, ObjectId, type Document } from 'mongodb';
import type { SourceKitOptions } from '../../../test/kit/source-kit.js';
import type { MongodbConfig, MongodbStreamConfig } from '../config.js';
import { mongodbSource } from '../source.js';

export const KIT_COLLECTION = 'customers';
export const SEED_COUNT = 25;
/** Seed documents share `updatedAt` four at a time, so checkpoints (every 5) and batches (of 3) fall inside ties. */
export const TIE_GROUP = 4;
const BASE = Date.UTC(2024, 0, 1);

export function seedCustomers(count = SEED_COUNT): Document[] {
  return Array.from({ length: count }, (_, i) => ({
    email: `customer${i}@mail-box.net`,
    name: { first: `First${i}`, last: `Last${i}` },
    address: { city: i % 2 ? 'Lyon' : 'Porto', geo: { lat: 45 + i / 100, lng: 4 } },
    tags: i % 3 ? ['newsletter'] : [],
    updatedAt: new Date(BASE + Math.floor(i / TIE_GROUP) * 60_000),
  }));
}

export interface KitTarget {
  url: string;
  database: string;
  teardown(): Promise<void>;
}

/** Write documents through the driver, as an application would. */
export async function insertWithDriver(url: string, database: string, collection: string, docs: Document[]): Promise<string[]> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    const res = await client.db(database).collection(collection).insertMany(docs);
    return Object.values(res.insertedIds).map((id) => (id instanceof ObjectId ? id.toHexString() : String(id)));
  } finally {
    await client.close();
  }
}

export function mongodbKitOptions(target: () => Promise<KitTarget>): SourceKitOptions<MongodbConfig, MongodbStreamConfig> {
  let current: KitTarget | undefined;
  return {
    connector: mongodbSource,
    async setup() {
      current = await target();
      await insertWithDriver(current.url, current.database, KIT_COLLECTION, seedCustomers());
      return { url: current.url, database: current.database, batchSize: 3, checkpointEvery: 5, connectTimeoutMs: 5000 };
    },
    async teardown() {
      await current?.teardown();
    },
    stream: () => ({ name: 'customers', mode: 'incremental', cursorField: 'updatedAt', primaryKey: ['_id'], config: { collection: KIT_COLLECTION } }),
    expectedInitialCount: SEED_COUNT,
    keyOf: (data) => String(data._id),
    async addNewer(config) {
      // Three documents with one shared, later timestamp: newer than everything read, tied among themselves.
      const at = new Date(BASE + 24 * 3600_000);
      const docs = [0, 1, 2].map((i) => ({ email: `new${i}@mail-box.net`, name: { first: `New${i}`, last: 'Customer' }, updatedAt: at }));
      return insertWithDriver(config.url, config.database, KIT_COLLECTION, docs);
    },
    farFutureState: () => ({
      kind: 'incremental',
      cursorField: 'updatedAt',
      after: { value: { type: 'date', value: '9999-12-31T23:59:59.999Z' }, id: { type: 'objectId', value: 'ffffffffffffffffffffffff' } },
    }),
    badConfigs: [
      { name: 'not a mongodb URL', config: { url: 'postgres://db:5432/app', database: 'app' }, message: /url: .*mongodb:\/\// },
      { name: 'no database', config: { url: 'mongodb://127.0.0.1:27017' }, message: /database: / },
      { name: 'unknown option', config: { url: 'mongodb://127.0.0.1:27017', database: 'app', batchsize: 10 }, message: /batchsize/ },
      {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        name: 'unreachable host, password not echoed',
        config: { url: 'mongodb://reader:s3cret-Pa55@127.0.0.1:1/?directConnection=true', database: 'app', connectTimeoutMs: 500 },
        message: /^cannot connect to MongoDB at 127\.0\.0\.1:1: (?!.*s3cret-Pa55).*$/,
      },
    ],
  };
}
