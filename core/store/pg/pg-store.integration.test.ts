import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../sqlite-store.js';
import { PgStore } from './pg-store.js';
import { TEST_PG_URL, dropSchema, uniqueSchema } from './__fixtures__/pg-test.js';
import { dumpPg, dumpSqlite, partitionOf, runScenario, scenarioBatches, SCENARIO_DESTINATIONS } from './__fixtures__/scenario.js';
import type { ProfileStore } from '../types.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

async function pgStore(tag: string): Promise<PgStore> {
  const schema = uniqueSchema(tag);
  const store = await PgStore.open({ url: TEST_PG_URL, schema });
  cleanups.push(async () => {
    await store.close();
    await dropSchema(schema);
  });
  return store;
}

function sqliteStore(): SqliteStore {
  const dir = mkdtempSync(join(tmpdir(), `trib-pgcmp-${process.pid}-`));
  const store = new SqliteStore(join(dir, 'store.db'));
  cleanups.push(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

describe('PgStore writes what SqliteStore writes for the same batches', () => {
  it('every table equal after 900 people in batches of 150 (merges across batches, refusals, presenters, aliases, outbox order, checkpoints, dead letters)', async () => {
    const batches = scenarioBatches({ people: 900, seed: 11, batchSize: 150 });
    const sqlite = sqliteStore();
    const pg = await pgStore('cmp');
    await runScenario(sqlite, batches);
    await runScenario(pg, batches);
    const a = dumpSqlite(sqlite);
    const b = await dumpPg(pg.conn);
    // The scenario exercises what it claims to.
    expect(a.merges.length).toBeGreaterThanOrEqual(5);
    expect(a.refused.length).toBeGreaterThan(50);
    expect(a.presented.length).toBeGreaterThan(0);
    expect(a.aliases.length).toBeGreaterThanOrEqual(5);
    for (const table of Object.keys(a)) expect({ table, rows: b[table] }).toEqual({ table, rows: a[table] });
    expect(partitionOf(b)).toEqual(partitionOf(a));
    // Reads answer alike too.
    for (const d of SCENARIO_DESTINATIONS) expect(await pg.pendingOutbox(d, 50, 3)).toEqual(await sqlite.pendingOutbox(d, 50, 3));
    expect(await pg.countProfiles()).toBe(await sqlite.countProfiles());
    expect(await collect(pg, 97)).toEqual(await collect(sqlite, 97));
    expect(await pg.loadState('crm')).toEqual(await sqlite.loadState('crm'));
    const alias = (a.aliases[0] as string).match(/"alias":"([^"]+)"/)![1];
    expect(await pg.resolveProfileId(alias)).toBe(await sqlite.resolveProfileId(alias));
    expect(await pg.resolveProfileId('nobody')).toBeUndefined();
  }, 240_000);
});

async function collect(store: ProfileStore, size: number) {
  const out = [];
  for await (const page of store.iterateProfiles(size)) {
    expect(page.length).toBeLessThanOrEqual(size);
    out.push(...page);
  }
  return out;
}
