import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Binary, Decimal128, Int32, Long, ObjectId, Timestamp } from 'mongodb';
import type { StreamState } from '../../core/plugin/types.js';
import { getPath } from '../../core/schema/mapping.js';
import { collect } from '../../test/kit/source-kit.js';
import { testContext } from '../../test/kit/context.js';
import { toPlain } from './convert.js';
import { decodeValue, encodeValue, parseState } from './state.js';
import { FakeMongoServer } from './__fixtures__/fake-mongo-server.js';
import { insertWithDriver } from './__fixtures__/kit-options.js';
import { expectedData, OID, richDocument } from './__fixtures__/rich-document.js';
import { mongodbSource } from './source.js';

let server: FakeMongoServer;
beforeAll(async () => {
  server = await FakeMongoServer.start();
  await insertWithDriver(server.url(), 'app', 'rich', [richDocument, { _id: new ObjectId('65a1b2c3d4e5f6a7b8c9d0e3'), updatedAt: new Date(0), amount: 5 }]);
  server.insert('app', 'system.profile', [{ op: 'query' }]);
});
afterAll(async () => {
  await server.stop();
});
const config = () => mongodbSource.spec.config.parse({ url: server.url(), database: 'app', connectTimeoutMs: 2000 });

describe('BSON to plain JSON, through the driver', () => {
  it('converts every type and keeps nested documents nested', async () => {
    const { records } = await collect(mongodbSource, config(), [
      { name: 'rich', mode: 'full_refresh', config: { collection: 'rich', filter: { _id: { $oid: OID } } } },
    ]);
    expect(records).toHaveLength(1);
    const data = records[0].data;
    expect(data).toEqual(expectedData);
    // Plain JSON all the way down: it survives a JSON round trip unchanged.
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
    // The engine's mapping reads nested fields by dotted path.
    expect(getPath(data, 'address.city')).toBe('Lyon');
    expect(getPath(data, 'address.geo.lat')).toBe(45.76);
    expect(records[0].origin).toBe(`rich _id=${OID}`);
  });

  it('keeps a Long inside 2^53 a number and turns dates outside JavaScript range into null', () => {
    expect(toPlain(Long.fromString('9007199254740991'))).toBe(9_007_199_254_740_991);
    expect(toPlain(Long.fromString('-9007199254740992'))).toBe('-9007199254740992');
    expect(toPlain(new Date(Number.NaN))).toBeNull();
    expect(toPlain(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});

describe('discover', () => {
  it('lists collections (not system ones) with nested fields, types, _id key and Date cursors', async () => {
    const streams = await mongodbSource.discover(testContext(config()));
    expect(streams.map((s) => s.name)).toEqual(['rich']);
    const [rich] = streams;
    expect(rich.primaryKey).toEqual(['_id']);
    expect(rich.supportedModes).toEqual(['incremental', 'full_refresh']);
    expect(rich.cursorCandidates).toEqual(['updatedAt', 'address.since', 'ts', '_id']);
    const f = rich.fields;
    expect(f._id).toEqual({ type: ['string'], sourceType: 'objectId' });
    expect(f.updatedAt).toEqual({ type: ['string'], format: 'date-time', sourceType: 'date' });
    expect(f['address.city']).toEqual({ type: ['null', 'string'], sourceType: 'string' });
    expect(f['address.geo.lat']).toEqual({ type: ['null', 'number'], sourceType: 'double' });
    expect(f.address.type).toContain('object');
    // Decimal in one document, an int in the other.
    expect(f.amount).toEqual({ type: ['integer', 'string'], sourceType: 'decimal|int' });
    expect(f.big).toEqual({ type: ['integer', 'null', 'string'], sourceType: 'long' });
    expect(f.count.sourceType).toBe('int');
    expect(f.ratio.sourceType).toBe('double');
    expect(f.blob.sourceType).toBe('binData');
    expect(f.ts).toEqual({ type: ['null', 'object'], sourceType: 'timestamp' });
    expect(f.uuid).toEqual({ type: ['null', 'string'], sourceType: 'uuid' });
    expect(f.orders.type).toEqual(['array', 'null']);
    expect(f['orders.sku']).toBeUndefined();
  });
});

describe('state values survive JSON with their type', () => {
  const values: Array<[string, unknown]> = [
    ['objectId', new ObjectId(OID)],
    ['date', new Date('2024-05-01T10:00:00.123Z')],
    ['string', 'cust-0042'],
    ['number', 42.5],
    ['long', Long.fromString('9007199254740993')],
    ['decimal', Decimal128.fromString('0.1000')],
    ['ejson', { tenant: 'eu', n: new Int32(3) }],
    ['ejson', new Binary(Buffer.from([1, 2, 3]), 0)],
    ['ejson', new Timestamp({ t: 1_700_000_000, i: 3 })],
  ];
  for (const [type, v] of values) {
    it(`${type}: ${String(v)}`, () => {
      const stored = JSON.parse(JSON.stringify(encodeValue(v)));
      expect(stored.type).toBe(type);
      expect(decodeValue(stored)).toEqual(v);
    });
  }

  it('refuses states it did not write', () => {
    expect(parseState({ kind: 'incremental', cursorField: 'updatedAt', after: { value: { type: 'objectId', value: 'xyz' } } }).ok).toBe(false);
    expect(parseState({ kind: 'incremental', cursorField: 'updatedAt', after: { value: { type: 'decimal', value: 'abc' } } }).ok).toBe(false);
    expect(parseState({ lastId: 5 }).ok).toBe(false);
    expect(parseState(undefined)).toEqual({ ok: true, state: undefined });
  });

  it('a Long _id past 2^53 resumes exactly (a JSON number would round it)', async () => {
    const base = 2n ** 53n;
    await insertWithDriver(server.url(), 'app', 'longs', [1n, 2n, 3n].map((k) => ({ _id: Long.fromBigInt(base + k), v: Number(k) })));
    const cfg = mongodbSource.spec.config.parse({ url: server.url(), database: 'app', checkpointEvery: 1, connectTimeoutMs: 2000 });
    const s = { name: 'longs', mode: 'incremental' as const, cursorField: '_id', config: { collection: 'longs' } };
    let state: StreamState | undefined;
    for await (const m of mongodbSource.read(testContext(cfg), [s], {})) {
      if (m.type === 'state') {
        state = JSON.parse(JSON.stringify(m.state));
        break;
      }
    }
    expect(state).toEqual({ kind: 'incremental', cursorField: '_id', after: { value: { type: 'long', value: String(base + 1n) } } });
    const rest = await collect(mongodbSource, cfg, [s], { longs: state });
    expect(rest.records.map((r) => r.data._id)).toEqual([String(base + 2n), String(base + 3n)]);
  });
});
