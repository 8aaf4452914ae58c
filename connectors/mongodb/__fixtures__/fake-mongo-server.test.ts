/**
 * The fake server must behave like MongoDB where the connector relies on it,
 * or the connector tests prove nothing. These checks pin that behaviour,
 * through the real driver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decimal128, Double, Int32, Long, MongoClient, MongoServerError, ObjectId, type Collection, type Document } from 'mongodb';
import { FakeMongoServer } from './fake-mongo-server.js';

let server: FakeMongoServer;
let client: MongoClient;
let things: Collection<Document>;

const names = (docs: Document[]) => docs.map((d) => d.name);

beforeAll(async () => {
  server = await FakeMongoServer.start();
  client = new MongoClient(server.url(), { serverSelectionTimeoutMS: 2000 });
  things = client.db('t').collection('things');
  await things.insertMany([
    { name: 'date', v: new Date('2024-01-01T00:00:00Z') },
    { name: 'string', v: '2024-06-01' },
    { name: 'int', v: new Int32(5) },
    { name: 'double', v: new Double(5.5) },
    { name: 'long', v: Long.fromNumber(5) },
    { name: 'decimal', v: Decimal128.fromString('4.5') },
    { name: 'oid', v: new ObjectId('000000000000000000000001') },
    { name: 'null', v: null },
    { name: 'missing' },
    { name: 'object', v: { a: 1 } },
    { name: 'array', v: [{ sku: 'A' }, { sku: 'B' }] },
    { name: 'bool', v: true },
  ]);
});
afterAll(async () => {
  await client.close();
  await server.stop();
});

describe('fake server query semantics (as documented for MongoDB)', () => {
  it('compares with $gt/$lt only inside a type bracket', async () => {
    expect(names(await things.find({ v: { $gt: new Date(0) } }).toArray())).toEqual(['date']);
    expect(names(await things.find({ v: { $gte: 5 } }).toArray())).toEqual(['int', 'double', 'long']);
    expect(names(await things.find({ v: { $lt: 5 } }).toArray())).toEqual(['decimal']);
    expect(names(await things.find({ v: { $gt: '' } }).toArray())).toEqual(['string']);
  });

  it('treats numbers of different BSON types as equal when their values are', async () => {
    expect(names(await things.find({ v: 5 }).toArray())).toEqual(['int', 'long']);
  });

  it('matches null against null and missing; $ne: null excludes both', async () => {
    expect(names(await things.find({ v: null }).toArray())).toEqual(['null', 'missing']);
    const notNull = names(await things.find({ v: { $ne: null } }).toArray());
    expect(notNull).not.toContain('null');
    expect(notNull).not.toContain('missing');
    expect(notNull).toHaveLength(10);
  });

  it('walks dotted paths into nested documents and arrays', async () => {
    expect(names(await things.find({ 'v.sku': 'B' }).toArray())).toEqual(['array']);
    expect(names(await things.find({ 'v.a': { $gte: 1 } }).toArray())).toEqual(['object']);
    expect(names(await things.find({ $or: [{ 'v.a': 1 }, { name: 'bool' }], $and: [{ name: { $ne: 'x' } }] }).toArray())).toEqual(['object', 'bool']);
  });

  it('sorts across types in BSON order, on several keys', async () => {
    const sorted = names(await things.find({}, { sort: { v: 1, name: -1 } }).toArray());
    expect(sorted).toEqual(['null', 'missing', 'decimal', 'long', 'int', 'double', 'string', 'object', 'array', 'oid', 'bool', 'date']);
  });

  it('projects inclusions (with dotted paths) and exclusions', async () => {
    const [inc] = await things.find({ name: 'object' }, { projection: { 'v.a': 1 } }).toArray();
    expect(Object.keys(inc)).toEqual(['_id', 'v']);
    const [exc] = await things.find({ name: 'object' }, { projection: { v: 0, _id: 0 } }).toArray();
    expect(exc).toEqual({ name: 'object' });
  });

  it('answers with error documents like a real server', async () => {
    const codeOf = (p: Promise<unknown>) => p.then(() => 'no error', (e: unknown) => (e instanceof MongoServerError ? e.code : String(e)));
    expect(await codeOf(things.find({ v: { $foo: 1 } }).toArray())).toBe(2);
    expect(await codeOf(things.find({ $bogus: 1 }).toArray())).toBe(2);
    expect(await codeOf(client.db('t').command({ frobnicate: 1 }))).toBe(59);
    expect(await codeOf(things.find({}, { projection: { v: 1, 'v.a': 1 } }).toArray())).toBe(31249);
    expect(await codeOf(client.db('t').command({ getMore: Long.fromNumber(12345), collection: 'things' }))).toBe(43);
  });

  it('pages with batchSize through getMore, and killCursors frees a cursor closed early', async () => {
    const before = server.log.length;
    expect(await things.find({}, { batchSize: 5 }).toArray()).toHaveLength(12);
    expect(server.log.slice(before).map((c) => c.name)).toEqual(['find', 'getMore', 'getMore']);
    const cursor = things.find({}, { batchSize: 2 });
    await cursor.next();
    await cursor.close();
    expect(server.log.at(-1)!.name).toBe('killCursors');
  });

  it('speaks legacy OP_QUERY for the first handshake and OP_MSG after', () => {
    expect(server.log[0]).toMatchObject({ name: 'ismaster', opCode: 2004 });
    expect(server.log.find((c) => c.name === 'insert')?.opCode).toBe(2013);
  });
});

describe('fake server with users', () => {
  it('refuses data commands before login (Unauthorized, code 13)', async () => {
    const secured = await FakeMongoServer.start({ users: { reader: 'pw' } });
    const anonymous = new MongoClient(secured.url(), { serverSelectionTimeoutMS: 2000 });
    try {
      expect(await anonymous.db('t').command({ ping: 1 })).toMatchObject({ ok: 1 });
      const err = await anonymous.db('t').collection('x').findOne({}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MongoServerError);
      expect((err as MongoServerError).code).toBe(13);
    } finally {
      await anonymous.close();
      await secured.stop();
    }
  });
});
