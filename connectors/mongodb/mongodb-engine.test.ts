/**
 * The connector inside the real engine: loaded from connectors/ by the plugin
 * loader, configured from YAML (url from an env reference, so it is a secret),
 * mapped with dotted paths, checkpointed in the SQLite store, and resumed after
 * a connection dropped in the middle of a sync.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { boot, type Booted } from '../../core/container.js';
import { captureLogger } from '../../test/kit/context.js';
import { FakeMongoServer } from './__fixtures__/fake-mongo-server.js';
import { insertWithDriver, seedCustomers } from './__fixtures__/kit-options.js';

const PASSWORD = 'engine-Secret-9';
let server: FakeMongoServer;
const opened: Booted[] = [];

beforeEach(async () => {
  server = await FakeMongoServer.start({ users: { reader: PASSWORD } });
  await insertWithDriver(server.url({ user: 'reader', password: PASSWORD }), 'shop', 'customers', seedCustomers());
});
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
  await server.stop();
});

function writeConfig(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trib-mongodb-'));
  const file = join(dir, 'tributary.yaml');
  const config = {
    store: { sqlite: join(dir, 'store.db') },
    sources: [
      {
        name: 'shop',
        connector: 'mongodb',
        batchSize: 5,
        // One attempt, so the dropped connection surfaces as a failed run (the engine's retry is tested in core/engine).
        retry: { attempts: 1 },
        config: { url: '${MONGO_URL}', database: 'shop', batchSize: 4, checkpointEvery: 5, connectTimeoutMs: 2000 },
        streams: [
          {
            name: 'customers',
            primaryKey: '_id',
            cursor: 'updatedAt',
            config: { collection: 'customers' },
            mapping: { identifiers: { email: 'email' }, traits: { firstName: 'name.first', city: 'address.city' }, observedAt: 'updatedAt' },
          },
        ],
      },
    ],
  };
  writeFileSync(file, stringify(config));
  return file;
}

async function start(file: string) {
  const logger = captureLogger();
  const env = { MONGO_URL: server.url({ user: 'reader', password: PASSWORD }) };
  const booted = await boot({ configFile: file, logger, env });
  opened.push(booted);
  return { ...booted, logger };
}

/** Ids in (updatedAt, _id) order, as the stream reads them. */
function readOrder(): string[] {
  return server
    .documents('shop', 'customers')
    .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime() || a._id.toHexString().localeCompare(b._id.toHexString()))
    .map((d) => d._id.toHexString());
}

describe('mongodb source in the engine', () => {
  it('syncs, maps nested fields, stores a JSON state and reads only new documents next time', async () => {
    const file = writeConfig();
    const { engine, store } = await start(file);
    const first = await engine.runSync('shop');
    expect(first.error).toBeUndefined();
    expect(first.summary!.streams.customers).toEqual({ read: 25, written: 25, deadLettered: 0, warnings: 0, duplicates: 0, cursorWarnings: 0, warningsByReason: {} });
    expect(await store.countProfiles()).toBe(25);
    const state = (await store.loadState('shop')).customers;
    expect(state).toEqual({
      kind: 'incremental',
      cursorField: 'updatedAt',
      after: { value: { type: 'date', value: '2024-01-01T00:06:00.000Z' }, id: { type: 'objectId', value: readOrder().at(-1) } },
    });
    const batches: Array<Array<{ traits: Record<string, unknown> }>> = [];
    for await (const batch of store.iterateProfiles(100)) batches.push(batch);
    const traits = batches.flat().map((p) => p.traits);
    expect(traits).toContainEqual(expect.objectContaining({ firstName: 'First3', city: 'Lyon' }));

    await insertWithDriver(server.url({ user: 'reader', password: PASSWORD }), 'shop', 'customers', [
      { email: 'late@mail-box.net', name: { first: 'Late' }, address: { city: 'Oslo' }, updatedAt: new Date(Date.UTC(2024, 1, 1)) },
    ]);
    const second = await engine.runSync('shop');
    expect(second.summary!.streams.customers.read).toBe(1);
  });

  it('a connection dropped mid-sync fails the run without the password; the next run reads exactly the rest', async () => {
    const file = writeConfig();
    const { engine, store } = await start(file);
    server.dropConnectionsOn('getMore', { skip: 2 });
    const failed = await engine.runSync('shop');
    expect(failed.ok).toBe(false);
    expect(failed.error).toMatch(/stream customers: lost MongoDB connection while reading shop\.customers on 127\.0\.0\.1:\d+/);
    expect(failed.error).not.toContain(PASSWORD);
    const saved = (await store.loadState('shop')).customers;
    expect(saved).toBeDefined();
    const after = saved.after as { id: { value: string } };
    const committed = readOrder().indexOf(after.id.value) + 1;
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(25);

    const resumed = await engine.runSync('shop');
    expect(resumed.ok).toBe(true);
    expect(resumed.summary!.streams.customers.read).toBe(25 - committed);
    expect(await store.countProfiles()).toBe(25);
  });
});
