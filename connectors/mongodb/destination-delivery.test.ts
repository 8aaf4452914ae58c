import { afterAll, beforeAll } from 'vitest';
import { destinationDeliveryKit } from '../../test/kit/delivery-kit.js';
import { FakeMongoServer } from './__fixtures__/fake-mongo-server.js';
import { mongodbDestination } from './destination.js';
import type { MongodbDestinationConfig } from './destination-config.js';

// The wire-level server in this process (no mongod can be installed here); mongodb.integration.test.ts covers a real one.
let fake: FakeMongoServer;
let collections = 0;
const DB = `kit_${process.pid}`;
beforeAll(async () => {
  fake = await FakeMongoServer.start();
});
afterAll(async () => {
  await fake?.stop();
});

destinationDeliveryKit<MongodbDestinationConfig>({
  connector: mongodbDestination,
  setup: async () => mongodbDestination.spec.config.parse({ url: fake.url(), database: DB, collection: `kit_${++collections}`, mirror: true }),
  held: async (c) => fake.documents(DB, c.collection).length,
});
