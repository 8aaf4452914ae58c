import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { destinationDeliveryKit } from '../../test/kit/delivery-kit.js';
import { IT_DATABASE, adminClient, dropDatabase, recreateDatabase, server } from './__fixtures__/seed.js';
import { postgresDestination, quoteIdent } from './destination.js';
import type { PostgresDestinationConfig } from './destination-config.js';

let admin: pg.Client;
let tables = 0;
beforeAll(async () => {
  await recreateDatabase();
  admin = await adminClient();
});
afterAll(async () => {
  await admin?.end();
  await dropDatabase();
});

// Each check writes a table of its own in this run's database; mirror mode so merged-away profiles are deleted.
destinationDeliveryKit<PostgresDestinationConfig>({
  connector: postgresDestination,
  setup: async () => postgresDestination.spec.config.parse({ ...server, database: IT_DATABASE, table: `kit_${++tables}`, createTable: true, mirror: true }),
  held: async (c) => Number((await admin.query(`SELECT count(*) AS n FROM public.${quoteIdent(c.table)}`)).rows[0].n),
});
