/**
 * The same kit and the same type checks as mongodb.test.ts, against a real
 * mongod named by MONGODB_URL (for example `mongodb://localhost:27017` or an
 * Atlas URL). Each run uses a fresh database `tributary_it_<random>` and drops
 * it afterwards. No MongoDB server exists on the machine where this connector
 * was written, so this file skips there, and says why in its title.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import type { StreamState } from '../../core/plugin/types.js';
import { collect, sourceConnectorKit } from '../../test/kit/source-kit.js';
import { testContext } from '../../test/kit/context.js';
import { insertWithDriver, mongodbKitOptions, seedCustomers } from './__fixtures__/kit-options.js';
import { expectedData, OID, richDocument } from './__fixtures__/rich-document.js';
import { mongodbSource } from './source.js';
import { mongodbDestination } from './destination.js';
import { sampleProfiles } from '../../test/kit/destination-kit.js';

const url = process.env.MONGODB_URL;
const title = url
  ? 'mongodb source against the real server in MONGODB_URL'
  : 'mongodb source against a real server (skipped: MONGODB_URL not set; no MongoDB server can be installed on this machine)';

async function dropDatabase(database: string): Promise<void> {
  const client = new MongoClient(url!, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db(database).dropDatabase();
  } finally {
    await client.close();
  }
}

const freshDatabase = () => `tributary_it_${randomBytes(4).toString('hex')}`;

describe.skipIf(!url)(title, () => {
  sourceConnectorKit(
    mongodbKitOptions(async () => {
      const database = freshDatabase();
      return { url: url!, database, teardown: () => dropDatabase(database) };
    }),
  );

  describe('types and ties on a real mongod', () => {
    const database = freshDatabase();
    const config = () => mongodbSource.spec.config.parse({ url, database, batchSize: 2, checkpointEvery: 1, connectTimeoutMs: 5000 });
    beforeAll(async () => {
      await insertWithDriver(url!, database, 'rich', [richDocument]);
      const docs = seedCustomers(13).map((d, i) => ({ ...d, updatedAt: new Date(Date.UTC(2024, 0, 1, 0, Math.floor(i / 5))) }));
      await insertWithDriver(url!, database, 'customers', docs);
    });
    afterAll(() => dropDatabase(database));

    it('converts every BSON type to the same plain JSON as against the fake server', async () => {
      const { records } = await collect(mongodbSource, config(), [{ name: 'rich', mode: 'full_refresh', config: { collection: 'rich', filter: { _id: { $oid: OID } } } }]);
      expect(records.map((r) => r.data)).toEqual([expectedData]);
    });

    it('short runs stopping inside tie groups read every document once, in (updatedAt, _id) order', async () => {
      const s = { name: 'customers', mode: 'incremental' as const, cursorField: 'updatedAt', config: { collection: 'customers' } };
      const full = await collect(mongodbSource, config(), [s]);
      const seen: unknown[] = [];
      let state: StreamState | undefined;
      for (let run = 0; run < 20; run++) {
        let got = 0;
        for await (const m of mongodbSource.read(testContext(config()), [s], { customers: state })) {
          if (m.type === 'record') seen.push(m.data._id);
          if (m.type === 'state') {
            state = JSON.parse(JSON.stringify(m.state));
            if (++got >= 3) break;
          }
        }
        if (got < 3) break;
      }
      expect(seen).toEqual(full.records.map((r) => r.data._id));
      expect(seen).toHaveLength(13);
    });
  });

  it('destination: upserts by _id, maps a validator refusal to its item, mirror-deletes only the given ids', async () => {
    const database = freshDatabase();
    const client = new MongoClient(url!, { serverSelectionTimeoutMS: 5000 });
    try {
      await client.db(database).createCollection('profiles', {
        validator: { $jsonSchema: { properties: { traits: { properties: { firstName: { bsonType: 'string' } } } } } },
      });
      const config = mongodbDestination.spec.config.parse({ url, database, collection: 'profiles', mirror: true, connectTimeoutMs: 5000 });
      const ps = sampleProfiles(4);
      const up = (p: (typeof ps)[number]) => ({ key: p.id, op: 'upsert' as const, profile: p });
      expect((await mongodbDestination.write(testContext(config), ps.map(up))).map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
      const bad = { ...ps[1], traits: { firstName: 42 } };
      const res = await mongodbDestination.write(testContext(config), [up(ps[0]), up(bad), { key: 'p2', op: 'delete', previous: { ref: 'p2' }, reason: 'merged' }]);
      expect(res.map((r) => r.status)).toEqual(['ok', 'permanent', 'ok']);
      expect((res[1] as { reason: string }).reason).toMatch(/code 121/);
      const held = await client.db(database).collection<{ _id: string; traits?: unknown }>('profiles').find({}).sort({ _id: 1 }).toArray();
      expect(held.map((d) => d._id)).toEqual(['p0', 'p1', 'p3']);
      expect(held[1].traits).toEqual(ps[1].traits);
    } finally {
      await client.close();
      await dropDatabase(database);
    }
  });
});
