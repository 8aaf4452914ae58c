import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { sqlDestinationSuite, type TestType } from '../sql-common/__fixtures__/destination-suite.js';
import { server } from './__fixtures__/seed.js';
import { mysqlDestination, quoteId } from './destination.js';
import type { MysqlDestinationConfig } from './destination-config.js';

/** This run's own database: other engineers' suites run on the same server at the same time. */
const DATABASE = `tributary_dest_my_${process.pid}_${randomBytes(3).toString('hex')}`;
const TYPES: Record<TestType, string> = {
  key: 'VARCHAR(255) NOT NULL PRIMARY KEY',
  text: 'TEXT',
  varchar8: 'VARCHAR(8)',
  int: 'INT',
  json: 'JSON',
  timestamp: 'DATETIME(3)',
};
/** Columns the suite declares as JSON: MariaDB hands JSON back as text. */
const JSON_COLUMNS = new Set(['profile', 'doc"`']);
const qualified = (table: string) => `${quoteId(DATABASE)}.${quoteId(table)}`;

let admin: mysql.Connection;

const connect = (database?: string) => mysql.createConnection({ ...server, database, charset: 'UTF8MB4_UNICODE_CI', dateStrings: true });

sqlDestinationSuite<MysqlDestinationConfig>({
  engine: 'mysql',
  connector: mysqlDestination,
  async setup() {
    admin = await connect();
    await admin.query(`CREATE DATABASE ${quoteId(DATABASE)} CHARACTER SET utf8mb4`);
    await admin.query("SET SESSION time_zone = '+00:00'");
    return mysqlDestination.spec.config.parse({ ...server, database: DATABASE, table: 'unset', lockTimeoutMs: 1000 });
  },
  async teardown() {
    await admin?.query(`DROP DATABASE IF EXISTS ${quoteId(DATABASE)}`);
    await admin?.end();
  },
  async rows(table, keyColumn = 'id') {
    const [rows] = await admin.query<mysql.RowDataPacket[]>(`SELECT * FROM ${qualified(table)}`);
    const out = new Map<string, Record<string, unknown>>();
    for (const r of rows) {
      const row: Record<string, unknown> = { ...r };
      for (const [k, v] of Object.entries(row)) {
        if (typeof v !== 'string') continue;
        if (JSON_COLUMNS.has(k)) row[k] = JSON.parse(v);
        else if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/.test(v)) row[k] = `${v.replace(' ', 'T')}Z`;
      }
      out.set(String(row[keyColumn]), row);
    }
    return out;
  },
  async createTable(table, columns) {
    const defs = Object.entries(columns).map(([name, type]) => `${quoteId(name)} ${TYPES[type]}`);
    await admin.query(`CREATE TABLE ${qualified(table)} (${defs.join(', ')}) CHARACTER SET utf8mb4`);
  },
  async tableExists(table) {
    const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [DATABASE, table]);
    return rows.length > 0;
  },
  async lockTable(table) {
    const holder = await connect(DATABASE);
    await holder.query(`LOCK TABLES ${qualified(table)} WRITE`);
    return {
      async release() {
        await holder.query('UNLOCK TABLES').catch(() => undefined);
        await holder.end();
      },
    };
  },
  async killWaitingWriter() {
    for (;;) {
      const [rows] = await admin.query<mysql.RowDataPacket[]>(
        "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND STATE LIKE 'Waiting for table%lock' AND INFO LIKE 'INSERT%'",
        [DATABASE],
      );
      if (rows.length) {
        for (const r of rows) await admin.query(`KILL CONNECTION ${Number(r.id)}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  },
  wrongCredentials: {
    config: { password: 'hunter2-secret' },
    message: /^cannot connect to mysql at 127\.0\.0\.1:3306 as root: Access denied for user 'root'@'[^']+' \(using password: YES\)$/,
    secret: 'hunter2-secret',
  },
  tooLong: /^mysql: Data too long for column 'code' at row 1$/,
});
