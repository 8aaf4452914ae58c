/** A document holding every BSON type the connector converts, and the plain JSON it must become. */
import { Binary, BSONRegExp, Decimal128, Double, Int32, Long, ObjectId, Timestamp, UUID } from 'mongodb';

export const OID = '65a1b2c3d4e5f6a7b8c9d0e1';

/** One document holding every BSON type the connector converts, written through the driver. */
export const richDocument = {
  _id: new ObjectId(OID),
  updatedAt: new Date('2024-05-01T10:00:00.123Z'),
  amount: Decimal128.fromString('1234.5600'),
  big: Long.fromString('9007199254740993'),
  minLong: Long.fromString('-9223372036854775808'),
  small: Long.fromNumber(42),
  count: new Int32(7),
  ratio: new Double(0.25),
  whole: new Double(3),
  notANumber: Number.NaN,
  blob: new Binary(Buffer.from('hello'), 0),
  uuid: new UUID('0f8fad5b-d9cb-469f-a165-70867728950e'),
  ref: new ObjectId('65a1b2c3d4e5f6a7b8c9d0e2'),
  address: { city: 'Lyon', geo: { lat: 45.76, lng: 4.84 }, since: new Date(Date.UTC(2020, 1, 29)) },
  orders: [{ sku: 'A-1', total: Decimal128.fromString('10.50'), at: new Date(Date.UTC(2024, 0, 2)) }],
  tags: ['vip', 'newsletter'],
  nothing: null,
  active: true,
  ts: new Timestamp({ t: 1_700_000_000, i: 3 }),
  pattern: new BSONRegExp('^a.*z$', 'i'),
};

/** `richDocument` as the connector must yield it. */
export const expectedData = {
  _id: OID,
  updatedAt: '2024-05-01T10:00:00.123Z',
  amount: '1234.5600',
  big: '9007199254740993',
  minLong: '-9223372036854775808',
  small: 42,
  count: 7,
  ratio: 0.25,
  whole: 3,
  notANumber: 'NaN',
  blob: Buffer.from('hello').toString('base64'),
  uuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
  ref: '65a1b2c3d4e5f6a7b8c9d0e2',
  address: { city: 'Lyon', geo: { lat: 45.76, lng: 4.84 }, since: '2020-02-29T00:00:00.000Z' },
  orders: [{ sku: 'A-1', total: '10.50', at: '2024-01-02T00:00:00.000Z' }],
  tags: ['vip', 'newsletter'],
  nothing: null,
  active: true,
  ts: { t: 1_700_000_000, i: 3 },
  pattern: '/^a.*z$/i',
};
