import { randomBytes } from 'node:crypto';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll } from 'vitest';
import { destinationDeliveryKit } from '../../test/kit/delivery-kit.js';
import { adminConnection, server } from './__fixtures__/seed.js';
import { mysqlDestination } from './destination.js';
import type { MysqlDestinationConfig } from './destination-config.js';

/** This run's own database: other checkouts test on the same server. */
const DATABASE = `tributary_kit_my_${process.pid}_${randomBytes(3).toString('hex')}`;
let admin: mysql.Connection;
let tables = 0;
beforeAll(async () => {
  admin = await adminConnection();
  await admin.query(`CREATE DATABASE \`${DATABASE}\` CHARACTER SET utf8mb4`);
});
afterAll(async () => {
  await admin?.query(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
  await admin?.end();
});

destinationDeliveryKit<MysqlDestinationConfig>({
  connector: mysqlDestination,
  setup: async () => mysqlDestination.spec.config.parse({ ...server, database: DATABASE, table: `kit_${++tables}`, createTable: true, mirror: true }),
  held: async (c) => {
    const [rows] = await admin.query(`SELECT count(*) AS n FROM \`${DATABASE}\`.\`${c.table}\``);
    return Number((rows as Array<{ n: number }>)[0].n);
  },
});
