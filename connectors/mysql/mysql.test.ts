import { describe, expect, it } from 'vitest';
import { ConfigError, ConnectionError } from '../../core/errors.js';
import { PLUGIN_API_VERSION } from '../../core/plugin/types.js';
import { resolveZone } from '../sql-common/timestamps.js';
import { mysqlConfigSchema, mysqlStreamSchema } from './config.js';
import { checkFailure, connectionOptions, datetimeZone, readFailure, reasonOf } from './connection.js';
import {
  bigintValue,
  bitValue,
  columnFromField,
  columnFromSchema,
  converterFor,
  fieldSchema,
  isCursorCandidate,
  keyProblem,
  toKeyValue,
  type ColumnInfo,
  type ConvertOptions,
  type InformationSchemaColumn,
} from './convert.js';
import plugin from './index.js';
import { keyLiteral, pageSql, queryStreamSource, quoteIdent } from './sql.js';

const col = (over: Partial<InformationSchemaColumn>): ColumnInfo =>
  columnFromSchema({ COLUMN_NAME: 'c', DATA_TYPE: 'int', COLUMN_TYPE: 'int(11)', IS_NULLABLE: 'NO', EXTRA: '', NUMERIC_PRECISION: null, NUMERIC_SCALE: null, ...over });

const config = mysqlConfigSchema.parse({ host: 'db.internal', user: 'reader', password: 's3cret-pw', database: 'shop' });

describe('mysql config', () => {
  it('fills defaults and lists the password as a secret', () => {
    expect(config).toMatchObject({ port: 3306, batchSize: 10_000, checkpointEvery: 10_000, binary: 'skip', connectTimeoutMs: 10_000 });
    expect(plugin.sources[0].spec.secrets).toEqual(['password']);
    expect(plugin).toMatchObject({ name: 'mysql', version: '0.1.0', apiVersion: PLUGIN_API_VERSION });
    expect(plugin.sources[0].id).toBe('mysql');
  });
  it('refuses unknown keys and bad values with the path', () => {
    const bad = mysqlConfigSchema.safeParse({ host: 'h', user: 'u', database: 'd', batchsize: 5, binary: 'hex' });
    expect(bad.success).toBe(false);
    const text = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    expect(text).toMatch(/binary/);
    expect(text).toMatch(/batchsize/);
  });
  it('a stream names a table or a query, not both, not neither', () => {
    expect(mysqlStreamSchema.safeParse({ table: 'customers' }).success).toBe(true);
    expect(mysqlStreamSchema.safeParse({ query: 'SELECT 1 AS id' }).success).toBe(true);
    expect(mysqlStreamSchema.safeParse({}).error?.issues[0].message).toBe('expected exactly one of `table` or `query`');
    expect(mysqlStreamSchema.safeParse({ table: 't', query: 'SELECT 1' }).error?.issues[0].message).toBe('expected exactly one of `table` or `query`');
    expect(mysqlStreamSchema.safeParse({ query: 'SELECT 1', schema: 'x' }).error?.issues[0].path).toEqual(['schema']);
  });
  it('asks the driver for lossless raw values', () => {
    expect(connectionOptions(config)).toMatchObject({ dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, decimalNumbers: false, multipleStatements: false });
  });
});

describe('mysql identifiers and SQL', () => {
  it('quotes identifiers with backticks, doubling backticks', () => {
    expect(quoteIdent('order')).toBe('`order`');
    expect(quoteIdent('we`ird')).toBe('`we``ird`');
    expect(quoteIdent('a`; DROP TABLE t; --')).toBe('`a``; DROP TABLE t; --`');
    expect(() => quoteIdent('a\u0000b')).toThrow(/NUL/);
  });
  it('wraps a query stream as a derived table, dropping trailing semicolons', () => {
    expect(queryStreamSource('  SELECT id FROM t;; \n')).toBe('(SELECT id FROM t) AS `_tributary_q`');
  });
  it('writes key values as hex literals that no sql_mode can misread', () => {
    const text = col({ COLUMN_NAME: 'email', DATA_TYPE: 'varchar', COLUMN_TYPE: 'varchar(50)' });
    expect(keyLiteral(text, "O'Brien\\")).toBe("_utf8mb4 X'4f27427269656e5c'");
    expect(keyLiteral(text, '🎉')).toBe("_utf8mb4 X'f09f8e89'");
    expect(keyLiteral(col({ DATA_TYPE: 'varbinary', COLUMN_TYPE: 'varbinary(16)' }), { b64: 'AP8=' })).toBe("X'00ff'");
  });
  it('casts integer and DECIMAL keys so comparisons stay exact past 2^53', () => {
    expect(keyLiteral(col({ DATA_TYPE: 'bigint', COLUMN_TYPE: 'bigint(20)' }), '9007199254740993')).toBe("CAST(_utf8mb4 X'39303037313939323534373430393933' AS SIGNED)");
    expect(keyLiteral(col({ DATA_TYPE: 'bigint', COLUMN_TYPE: 'bigint(20) unsigned' }), 42)).toBe('CAST(42 AS UNSIGNED)');
    expect(keyLiteral(col({ DATA_TYPE: 'decimal', COLUMN_TYPE: 'decimal(12,2)', NUMERIC_PRECISION: 12, NUMERIC_SCALE: 2 }), '10.50')).toBe("CAST(_utf8mb4 X'31302e3530' AS DECIMAL(12,2))");
    expect(() => keyLiteral(col({}), Number.NaN)).toThrow(/finite/);
  });
  it('builds keyset pages for every phase', () => {
    const id = col({ COLUMN_NAME: 'id' });
    const ts = col({ COLUMN_NAME: 'updated at', DATA_TYPE: 'datetime', COLUMN_TYPE: 'datetime(6)', IS_NULLABLE: 'YES' });
    const base = { from: '`shop`.`customers`', columns: [id, ts], cursor: ts, primaryKey: [id], limit: 500 };
    expect(pageSql({ ...base, phase: 'all', after: null })).toBe('SELECT `id`, `updated at` FROM `shop`.`customers` ORDER BY `id` LIMIT 500');
    expect(pageSql({ ...base, phase: 'nulls', after: [7] })).toBe('SELECT `id`, `updated at` FROM `shop`.`customers` WHERE `updated at` IS NULL AND (`id` > CAST(7 AS SIGNED)) ORDER BY `id` LIMIT 500');
    expect(pageSql({ ...base, phase: 'values', after: null })).toBe('SELECT `id`, `updated at` FROM `shop`.`customers` WHERE `updated at` IS NOT NULL ORDER BY `updated at`, `id` LIMIT 500');
    const t = "_utf8mb4 X'323032342d30312d30312030303a30303a3030'";
    expect(pageSql({ ...base, phase: 'values', after: ['2024-01-01 00:00:00', 7] })).toBe(
      `SELECT \`id\`, \`updated at\` FROM \`shop\`.\`customers\` WHERE ((\`updated at\` > ${t}) OR (\`updated at\` = ${t} AND \`id\` > CAST(7 AS SIGNED))) ORDER BY \`updated at\`, \`id\` LIMIT 500`,
    );
    expect(() => pageSql({ ...base, phase: 'all', after: null, limit: 0 })).toThrow(/bad limit/);
  });
});

describe('mysql columns and types', () => {
  it('reads information_schema rows into column kinds', () => {
    expect(col({ DATA_TYPE: 'bigint', COLUMN_TYPE: 'bigint(20) unsigned', EXTRA: 'auto_increment' })).toMatchObject({ kind: 'bigint', unsigned: true, autoIncrement: true });
    expect(col({ DATA_TYPE: 'bit', COLUMN_TYPE: 'bit(10)' })).toMatchObject({ kind: 'bit', precision: 10 });
    expect(col({ DATA_TYPE: 'longtext', COLUMN_TYPE: 'longtext' }).kind).toBe('text');
    expect(columnFromSchema({ COLUMN_NAME: 'doc', DATA_TYPE: 'longtext', COLUMN_TYPE: 'longtext', IS_NULLABLE: 'YES', EXTRA: '', NUMERIC_PRECISION: null, NUMERIC_SCALE: null }, new Set(['doc'])).kind).toBe('json');
    expect(col({ DATA_TYPE: 'mediumblob', COLUMN_TYPE: 'mediumblob' }).kind).toBe('binary');
  });
  it('reads wire metadata of a query result into column kinds', () => {
    expect(columnFromField({ name: 'n', columnType: 0x08, flags: 32 | 1, decimals: 0 })).toMatchObject({ kind: 'bigint', unsigned: true, nullable: false });
    expect(columnFromField({ name: 'j', columnType: 0xfc, flags: 0, decimals: 0, extendedFormat: 'json' }).kind).toBe('json');
    expect(columnFromField({ name: 'b', columnType: 0xfd, flags: 128, characterSet: 63, decimals: 0 }).kind).toBe('binary');
    expect(columnFromField({ name: 's', columnType: 0xfd, flags: 0, characterSet: 224, decimals: 0 }).kind).toBe('text');
    expect(columnFromField({ name: 'd', columnType: 0xf6, flags: 0, decimals: 4 })).toMatchObject({ kind: 'decimal', scale: 4 });
  });
  it('describes fields for discover', () => {
    expect(fieldSchema(col({ DATA_TYPE: 'decimal', COLUMN_TYPE: 'decimal(10,2)', IS_NULLABLE: 'YES' }))).toEqual({ type: ['string', 'null'], format: 'decimal', sourceType: 'decimal(10,2)' });
    expect(fieldSchema(col({ DATA_TYPE: 'datetime', COLUMN_TYPE: 'datetime' })).type).toEqual(['string', 'null']);
    expect(fieldSchema(col({ DATA_TYPE: 'bit', COLUMN_TYPE: 'bit(1)' })).type).toEqual(['boolean']);
    expect(fieldSchema(col({ DATA_TYPE: 'bit', COLUMN_TYPE: 'bit(64)' })).type).toEqual(['integer', 'string']);
  });
  it('offers date-times and auto-increment integers as cursors; refuses approximate or unordered keys', () => {
    expect(isCursorCandidate(col({ DATA_TYPE: 'timestamp' }))).toBe(true);
    expect(isCursorCandidate(col({ EXTRA: 'auto_increment' }))).toBe(true);
    expect(isCursorCandidate(col({}))).toBe(false);
    expect(keyProblem(col({ DATA_TYPE: 'double', COLUMN_TYPE: 'double' }))).toMatch(/approximate/);
    expect(keyProblem(col({ DATA_TYPE: 'json', COLUMN_TYPE: 'json' }))).toMatch(/no usable order/);
    expect(keyProblem(col({ DATA_TYPE: 'varchar' }))).toBeUndefined();
  });
  it('BIGINT is a number while exact, a string past 2^53', () => {
    expect(bigintValue('42')).toBe(42);
    expect(bigintValue('-9007199254740991')).toBe(-9007199254740991);
    expect(bigintValue('9007199254740992')).toBe('9007199254740992');
    expect(bigintValue('18446744073709551615')).toBe('18446744073709551615');
  });
  it('BIT(1) is a boolean, wider BITs numbers', () => {
    expect(bitValue(Buffer.from([1]), 1)).toBe(true);
    expect(bitValue(Buffer.from([0]), 1)).toBe(false);
    expect(bitValue(Buffer.from([0x02, 0xaa]), 10)).toBe(682);
    expect(bitValue(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 64)).toBe('18446744073709551615');
  });
  it('converts by kind: date-times to UTC, zero dates to null, binary skipped or base64, the rest kept', () => {
    const opts: ConvertOptions = { zone: resolveZone('+02:00')!, binary: 'skip' };
    const conv = (over: Partial<InformationSchemaColumn>, v: unknown, o = opts) => {
      const c = converterFor(col(over), o);
      return c === 'keep' || c === 'skip' ? c : c(v);
    };
    expect(conv({ DATA_TYPE: 'datetime' }, '2024-07-01 12:00:00.5')).toBe('2024-07-01T10:00:00.5Z');
    expect(conv({ DATA_TYPE: 'timestamp' }, '2024-07-01 12:00:00')).toBe('2024-07-01T12:00:00Z');
    expect(conv({ DATA_TYPE: 'datetime' }, '0000-00-00 00:00:00')).toBeNull();
    expect(conv({ DATA_TYPE: 'date' }, '0000-00-00')).toBeNull();
    expect(conv({ DATA_TYPE: 'date' }, '2024-02-29')).toBe('2024-02-29');
    expect(conv({ DATA_TYPE: 'json' }, '{"a":1}')).toEqual({ a: 1 });
    expect(conv({ DATA_TYPE: 'json' }, { a: 1 })).toEqual({ a: 1 });
    expect(conv({ DATA_TYPE: 'blob' }, Buffer.from('hi'))).toBe('skip');
    expect(conv({ DATA_TYPE: 'blob' }, Buffer.from('hi'), { ...opts, binary: 'base64' })).toBe('aGk=');
    expect(conv({ DATA_TYPE: 'decimal' }, '1.50')).toBe('keep');
    expect(conv({ DATA_TYPE: 'varchar' }, 'x')).toBe('keep');
  });
  it('keeps key values as the server wrote them, bytes as base64', () => {
    expect(toKeyValue('2024-01-01 00:00:00.000001')).toBe('2024-01-01 00:00:00.000001');
    expect(toKeyValue(Buffer.from([0, 255]))).toEqual({ b64: 'AP8=' });
    expect(toKeyValue(null)).toBeNull();
  });
});

describe('mysql errors', () => {
  it('one line, never the password', () => {
    const err = Object.assign(new Error("Access denied for user 'reader'@'10.0.0.1' (using password: YES)\nsecond line s3cret-pw"), { code: 'ER_ACCESS_DENIED_ERROR' });
    expect(checkFailure(err, config)).toBe("cannot connect to mysql at db.internal:3306 as reader: Access denied for user 'reader'@'10.0.0.1' (using password: YES) second line ***");
  });
  it('an error without a message (Node aggregates per address) still says something', () => {
    const agg = new AggregateError([new Error('connect ECONNREFUSED ::1:3306'), new Error('connect ECONNREFUSED 127.0.0.1:3306')], '');
    expect(reasonOf(agg, config)).toBe('connect ECONNREFUSED ::1:3306; connect ECONNREFUSED 127.0.0.1:3306');
    expect(reasonOf(Object.assign(new Error(''), { code: 'ETIMEDOUT' }), config)).toBe('ETIMEDOUT');
  });
  it('SQL and grant errors are ConfigErrors; the rest ConnectionErrors; both name the stream', () => {
    const sqlError = readFailure(Object.assign(new Error("Unknown column 'x'"), { code: 'ER_BAD_FIELD_ERROR' }), config, 'orders', 'shop', true);
    expect(sqlError).toBeInstanceOf(ConfigError);
    expect(sqlError.describe()).toBe("sync shop, stream orders: mysql at db.internal:3306 refused the stream's query: Unknown column 'x'");
    const lost = readFailure(Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), config, 'orders', 'shop', true);
    expect(lost).toBeInstanceOf(ConnectionError);
    expect((lost as ConnectionError).retryable).toBe(true);
    expect(lost.describe()).toBe('sync shop, stream orders: lost the connection to mysql at db.internal:3306 as reader while reading: Connection lost: The server closed the connection.');
    const refused = readFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), config, 'orders', 'shop', false);
    expect(refused.message).toBe('cannot connect to mysql at db.internal:3306 as reader: connect ECONNREFUSED');
    const denied = readFailure(
      Object.assign(new Error("Access denied for user 'reader'@'10.0.0.1' (using password: YES)"), { code: 'ER_ACCESS_DENIED_ERROR' }),
      config,
      'orders',
      'shop',
      false,
    );
    expect(denied).toBeInstanceOf(ConnectionError);
    expect((denied as ConnectionError).retryable).toBe(false);
    expect(denied.message).toBe(
      "cannot connect to mysql at db.internal:3306 as reader: Access denied for user 'reader'@'10.0.0.1' (using password: YES) (not retried: check the source's user, password and database)",
    );
    expect((readFailure(Object.assign(new Error("Host '10.0.0.1' is not allowed"), { code: 'ER_HOST_NOT_PRIVILEGED' }), config, 'o', 's', false) as ConnectionError).retryable).toBe(false);
    expect(readFailure(Object.assign(new Error("Unknown database 'shop'"), { code: 'ER_BAD_DB_ERROR' }), config, 'o', 's', false)).toBeInstanceOf(ConfigError);
    expect(readFailure(Object.assign(new Error('SELECT command denied'), { code: 'ER_TABLEACCESS_DENIED_ERROR' }), config, 'o', 's', true)).toBeInstanceOf(ConfigError);
    expect((refused as ConnectionError).retryable).toBe(true);
    const ours = new ConfigError('table shop.x does not exist');
    expect(readFailure(ours, config, 'orders', 'shop', true).describe()).toBe('sync shop, stream orders: table shop.x does not exist');
  });
  it('a server time zone JS cannot read is reported only as a ConfigError with the fix', () => {
    expect(datetimeZone({}, 'SYSTEM', 'UTC')).toMatchObject({ kind: 'offset', minutes: 0 });
    expect(datetimeZone({}, '+05:30', 'UTC')).toMatchObject({ kind: 'offset', minutes: 330 });
    expect(datetimeZone({ timezone: 'Europe/Paris' }, 'SYSTEM', 'CEST')).toMatchObject({ kind: 'iana', name: 'Europe/Paris' });
    expect(() => datetimeZone({}, 'SYSTEM', 'CEST')).toThrow(/set config.timezone to an IANA name/);
  });
});
