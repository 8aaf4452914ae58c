import { describe, expect, it } from 'vitest';
import { ConfigError, ConnectionError } from '../../core/errors.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { resolveZone } from '../sql-common/timestamps.js';
import { streamNameOf } from './catalog.js';
import { postgresConfigSchema, postgresStreamSchema } from './config.js';
import { checkFailure, clientConfig, readFailure, timestampZone } from './connection.js';
import {
  bigintValue,
  byteaBase64,
  converterFor,
  fieldSchema,
  floatValue,
  isCursorCandidate,
  keyProblem,
  kindOf,
  type ColumnInfo,
  type ConvertOptions,
  type PgKind,
  type PgTypeRow,
} from './convert.js';
import plugin from './index.js';
import { mapPgArray, parsePgArray } from './pg-array.js';
import { declareSql, queryStreamSource, quoteIdent } from './sql.js';

const config = postgresConfigSchema.parse({ host: 'pg.internal', user: 'reader', password: 's3cret-pw', database: 'shop' });

const type = (oid: number, typname: string, over: Partial<PgTypeRow> = {}): PgTypeRow => ({ oid, typname, typtype: 'b', typcategory: 'N', typelem: 0, typbasetype: 0, typdelim: ',', ...over });
const TYPES = new Map<number, PgTypeRow>(
  [
    type(20, 'int8'),
    type(23, 'int4'),
    type(1007, '_int4', { typcategory: 'A', typelem: 23 }),
    type(1184, 'timestamptz', { typcategory: 'D' }),
    type(1185, '_timestamptz', { typcategory: 'A', typelem: 1184 }),
    type(603, 'box', { typcategory: 'G', typdelim: ';' }),
    type(1020, '_box', { typcategory: 'A', typelem: 603 }),
    type(90001, 'positive_int', { typtype: 'd', typbasetype: 23 }),
    type(90002, '_positive_int', { typcategory: 'A', typelem: 90001 }),
    type(90003, 'mood', { typtype: 'e', typcategory: 'E' }),
    type(17, 'bytea', { typcategory: 'U' }),
  ].map((t) => [t.oid, t]),
);

const column = (name: string, pg: PgKind, over: Partial<ColumnInfo> = {}): ColumnInfo => ({
  name,
  typeOid: 0,
  sourceType: pg.kind,
  pg,
  nullable: true,
  autoIncrement: false,
  singleBit: false,
  ...over,
});

const opts: ConvertOptions = { zone: resolveZone('UTC')!, binary: 'skip' };
const convert = (c: ColumnInfo, text: string, o: ConvertOptions = opts): unknown => {
  const conv = converterFor(c, o);
  return conv === 'keep' ? text : conv === 'skip' ? 'skip' : conv(text);
};

describe('postgres config', () => {
  it('fills defaults and lists the password as a secret', () => {
    expect(config).toMatchObject({ port: 5432, batchSize: 10_000, checkpointEvery: 10_000, binary: 'skip' });
    expect(plugin).toMatchObject({ name: 'postgres', version: '0.1.0', apiVersion: PLUGIN_API_VERSION });
    expect(plugin.sources[0].id).toBe('postgres');
    expect(plugin.sources[0].spec.secrets).toEqual(['password']);
  });
  it('a table stream defaults to schema public; a query stream has no schema', () => {
    expect(postgresStreamSchema.parse({ table: 'customers' })).toEqual({ table: 'customers', schema: 'public' });
    expect(postgresStreamSchema.parse({ table: 'c', schema: 'crm' })).toEqual({ table: 'c', schema: 'crm' });
    expect(postgresStreamSchema.parse({ query: 'SELECT 1' })).toEqual({ query: 'SELECT 1' });
    expect(postgresStreamSchema.safeParse({}).error?.issues[0].message).toBe('expected exactly one of `table` or `query`');
  });
  it('reads every value as raw text and names itself to the server', () => {
    const c = clientConfig(config);
    expect(c.application_name).toBe('tributary');
    expect(c.types?.getTypeParser(1184, 'text')('2024-01-01 00:00:00+00')).toBe('2024-01-01 00:00:00+00');
  });
});

describe('postgres identifiers and SQL', () => {
  it('quotes identifiers with double quotes, doubling quotes', () => {
    expect(quoteIdent('order')).toBe('"order"');
    expect(quoteIdent('we"ird')).toBe('"we""ird"');
    expect(quoteIdent('Sales Dept')).toBe('"Sales Dept"');
  });
  it('declares a cursor over the phase, values as parameters reused for ties', () => {
    const id = column('id', { kind: 'bigint' });
    const ts = column('updated_at', { kind: 'timestamptz' });
    const base = { from: '"public"."customers"', columns: [id, ts], cursor: ts, primaryKey: [id] };
    expect(declareSql({ ...base, phase: 'values', after: ['2024-01-01 00:00:00+00', '42'] })).toEqual({
      sql: 'DECLARE "tributary_read" NO SCROLL CURSOR FOR SELECT "id", "updated_at" FROM "public"."customers" WHERE (("updated_at" > $1) OR ("updated_at" = $1 AND "id" > $2)) ORDER BY "updated_at", "id"',
      params: ['2024-01-01 00:00:00+00', '42'],
    });
    expect(declareSql({ ...base, phase: 'all', after: null }).sql).toBe('DECLARE "tributary_read" NO SCROLL CURSOR FOR SELECT "id", "updated_at" FROM "public"."customers" ORDER BY "id"');
    expect(declareSql({ ...base, phase: 'nulls', after: [7] }).params).toEqual(['7']);
  });
  it('wraps a query stream as a subquery', () => {
    expect(queryStreamSource('SELECT 1 AS id;')).toBe('(SELECT 1 AS id) AS "_tributary_q"');
  });
  it('names discovered streams by table, schema-qualified outside public', () => {
    expect(streamNameOf('public', 'customers')).toBe('customers');
    expect(streamNameOf('crm', 'customers')).toBe('crm.customers');
  });
});

describe('postgres array text', () => {
  it('parses quoting, escapes, NULL and the string "NULL"', () => {
    expect(parsePgArray('{1,NULL,3}')).toEqual(['1', null, '3']);
    expect(parsePgArray('{"a,b","c\\"d",NULL,"NULL","","back\\\\slash","{brace}"}')).toEqual(['a,b', 'c"d', null, 'NULL', '', 'back\\slash', '{brace}']);
    expect(parsePgArray('{}')).toEqual([]);
  });
  it('parses nesting, explicit bounds and the box delimiter', () => {
    expect(parsePgArray('{{1,2},{3,4}}')).toEqual([['1', '2'], ['3', '4']]);
    expect(parsePgArray('[0:1]={x,y}')).toEqual(['x', 'y']);
    expect(parsePgArray('{(1,1),(0,0);(2,2),(1,1)}', ';')).toEqual(['(1,1),(0,0)', '(2,2),(1,1)']);
  });
  it('refuses malformed text', () => {
    expect(() => parsePgArray('{1,2')).toThrow();
    expect(() => parsePgArray('{"a}')).toThrow(/unterminated/);
    expect(() => parsePgArray('{1}x')).toThrow(/trailing/);
  });
  it('maps elements at any depth, leaving NULL alone', () => {
    expect(mapPgArray([['1', null], ['3']], Number)).toEqual([[1, null], [3]]);
  });
});

describe('postgres types', () => {
  it('follows domains and arrays to their base kinds', () => {
    expect(kindOf(90001, TYPES)).toEqual({ kind: 'int' });
    expect(kindOf(90002, TYPES)).toEqual({ kind: 'array', element: { kind: 'int' }, delimiter: ',' });
    expect(kindOf(1020, TYPES)).toEqual({ kind: 'array', element: { kind: 'text' }, delimiter: ';' });
    expect(kindOf(90003, TYPES)).toEqual({ kind: 'text' });
    expect(kindOf(123456, TYPES)).toEqual({ kind: 'text' });
  });
  it('int8 is a number while exact; floats keep NaN and infinities as text', () => {
    expect(bigintValue('9007199254740991')).toBe(9007199254740991);
    expect(bigintValue('9007199254740993')).toBe('9007199254740993');
    expect(floatValue('0.1')).toBe(0.1);
    expect(floatValue('NaN')).toBe('NaN');
    expect(floatValue('-Infinity')).toBe('-Infinity');
  });
  it('bytea hex is base64, or left out by default', () => {
    expect(byteaBase64('\\x00ff10')).toBe('AP8Q');
    expect(byteaBase64('\\x')).toBe('');
    const by = column('by', { kind: 'bytea' });
    expect(convert(by, '\\x00ff10')).toBe('skip');
    expect(convert(by, '\\x00ff10', { ...opts, binary: 'base64' })).toBe('AP8Q');
  });
  it('converts by kind', () => {
    expect(convert(column('t', { kind: 'timestamptz' }), '2024-01-01 10:00:00.5+00')).toBe('2024-01-01T10:00:00.5Z');
    expect(convert(column('t', { kind: 'timestamp' }), '2024-07-01 12:00:00', { ...opts, zone: resolveZone('Europe/Berlin')! })).toBe('2024-07-01T10:00:00Z');
    expect(convert(column('b', { kind: 'bool' }), 't')).toBe(true);
    expect(convert(column('j', { kind: 'json' }), '{"a": [1, null]}')).toEqual({ a: [1, null] });
    expect(convert(column('n', { kind: 'numeric' }), '12345678901234567890.0123456789')).toBe('12345678901234567890.0123456789');
    expect(convert(column('bit', { kind: 'bit' }, { singleBit: true }), '1')).toBe(true);
    expect(convert(column('bits', { kind: 'bit' }), '0101')).toBe('0101');
    expect(convert(column('a', kindOf(1185, TYPES)), '{"2024-01-01 00:00:00+00",NULL}')).toEqual(['2024-01-01T00:00:00Z', null]);
    expect(convert(column('a', kindOf(1007, TYPES)), '{{1,2},{3,NULL}}')).toEqual([[1, 2], [3, null]]);
  });
  it('describes fields for discover; offers timestamps and identity/serial integers as cursors', () => {
    expect(fieldSchema(column('n', { kind: 'numeric' }, { sourceType: 'numeric(10,2)' }))).toEqual({ type: ['string', 'null'], format: 'decimal', sourceType: 'numeric(10,2)' });
    expect(fieldSchema(column('b', { kind: 'bit' }, { singleBit: true, nullable: false })).type).toEqual(['boolean']);
    expect(fieldSchema(column('j', { kind: 'json' })).type).toContain('null');
    expect(isCursorCandidate(column('t', { kind: 'timestamptz' }))).toBe(true);
    expect(isCursorCandidate(column('id', { kind: 'int' }, { autoIncrement: true }))).toBe(true);
    expect(isCursorCandidate(column('n', { kind: 'int' }))).toBe(false);
    expect(keyProblem(column('j', { kind: 'json' }))).toMatch(/no usable order/);
  });
});

describe('postgres errors', () => {
  it('one line, never the password', () => {
    const err = new Error('password authentication failed for user "reader"\nDETAIL: s3cret-pw');
    expect(checkFailure(err, config)).toBe('cannot connect to postgres at pg.internal:5432 as reader: password authentication failed for user "reader" DETAIL: ***');
  });
  it('class 42 (the stream\'s SQL or grants) is a ConfigError; a terminated backend a ConnectionError', () => {
    const undefinedColumn = readFailure(Object.assign(new Error('column "x" does not exist'), { code: '42703' }), config, 'orders', 'shop', true);
    expect(undefinedColumn).toBeInstanceOf(ConfigError);
    expect(undefinedColumn.describe()).toBe('sync shop, stream orders: postgres at pg.internal:5432 refused the stream\'s query: column "x" does not exist');
    const terminated = readFailure(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), config, 'orders', 'shop', true);
    expect(terminated).toBeInstanceOf(ConnectionError);
    expect(terminated.message).toBe('lost the connection to postgres at pg.internal:5432 as reader while reading: terminating connection due to administrator command');
    const auth = readFailure(Object.assign(new Error('password authentication failed for user "reader"'), { code: '28P01' }), config, 'orders', 'shop', false);
    expect(auth).toBeInstanceOf(ConnectionError);
    expect(auth.message).toMatch(/^cannot connect to postgres at pg.internal:5432 as reader: /);
  });
  it('a refused login (bad password, unknown role, missing database, no CONNECT right) is not retried; a refused connection is', () => {
    const refusedLogin = [
      ['28P01', 'password authentication failed for user "reader"'],
      ['28000', 'role "reader" does not exist'],
      ['3D000', 'database "shop" does not exist'],
      ['42501', 'permission denied for database shop'],
    ];
    for (const [code, message] of refusedLogin) {
      const err = readFailure(Object.assign(new Error(message), { code }), config, 'orders', 'shop', false);
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as ConnectionError).retryable, code).toBe(false);
      expect(err.message).toBe(`cannot connect to postgres at pg.internal:5432 as reader: ${message} (not retried: check the source's user, password and database)`);
    }
    const down = readFailure(Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }), config, 'orders', 'shop', false);
    expect((down as ConnectionError).retryable).toBe(true);
    const starting = readFailure(Object.assign(new Error('the database system is starting up'), { code: '57P03' }), config, 'orders', 'shop', false);
    expect((starting as ConnectionError).retryable).toBe(true);
    // Once connected, "permission denied for table" is the stream's grants: a ConfigError, never retried either.
    expect(readFailure(Object.assign(new Error('permission denied for table orders'), { code: '42501' }), config, 'orders', 'shop', true)).toBeInstanceOf(ConfigError);
  });
  it('a server TimeZone JS cannot read becomes a ConfigError to raise when a timestamp column is read', () => {
    expect(timestampZone({}, 'Etc/UTC')).toMatchObject({ kind: 'offset', minutes: 0 });
    expect(timestampZone({ timezone: '+01:00' }, '<+03>-03')).toMatchObject({ kind: 'offset', minutes: 60 });
    const problem = timestampZone({}, '<+03>-03');
    expect(problem).toBeInstanceOf(ConfigError);
    expect((problem as ConfigError).message).toMatch(/set config.timezone/);
  });
});
