import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { boot } from '../../container.js';
import type { ProfileStore } from '../types.js';
import { PgStore } from './pg-store.js';
import { TEST_PG_URL, dropSchema, uniqueSchema } from './__fixtures__/pg-test.js';
import { pgPartition } from './__fixtures__/pg-engine.js';

// Two engines, each with a PgStore of its own (its own pool: two workers), sync
// overlapping people into one schema at the same time. To make the race certain
// rather than likely, each engine's graph read waits (up to 400 ms) for the
// other engine's read of its own batch: without the resolve lock both batches
// are resolved against the same graph, which does not know the person yet, and
// each makes a profile. With the lock the second waits for the first's commit.

const PEOPLE = 600;
let dir: string;
const schemas: string[] = [];
const stores: PgStore[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `trib-pgconc-${process.pid}-`));
  const email = (i: number) => `person${i}@mail-box.net`;
  const phone = (i: number) => `+1415${String(2000000 + i)}`;
  const left = ['id,email,phone'];
  const right = ['id,email,phone'];
  for (let i = 0; i < PEOPLE; i++) {
    left.push(`L${i},${email(i)},${i % 2 === 1 ? phone(i) : ''}`);
    right.push(`R${i},${i % 2 === 0 && i % 5 !== 0 ? email(i) : ''},${phone(i)}`);
  }
  for (let i = 0; i < PEOPLE; i += 10) right.push(`B${i},${email(i)},${phone(i)}`);
  writeFileSync(join(dir, 'left.csv'), left.join('\n') + '\n');
  writeFileSync(join(dir, 'right.csv'), right.join('\n') + '\n');
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
  await Promise.all(schemas.map((s) => dropSchema(s).catch(() => undefined)));
  rmSync(dir, { recursive: true, force: true });
});

function configFile(schema: string): string {
  const source = (name: string) => ({
    name,
    connector: 'csv',
    batchSize: 50,
    config: { checkpointEvery: 50 },
    streams: [{ name: 'people', primaryKey: 'id', config: { path: join(dir, `${name}.csv`) }, mapping: { identifiers: { email: 'email', phone: 'phone' } } }],
  });
  const file = join(dir, `${schema}.yaml`);
  writeFileSync(file, stringify({ store: { postgres: TEST_PG_URL, schema }, sources: [source('left'), source('right')] }));
  return file;
}

async function openStore(schema: string): Promise<PgStore> {
  const s = await PgStore.open({ url: TEST_PG_URL, schema });
  stores.push(s);
  return s;
}

/** Two parties meet here: the first waits for the second, or gives up after `ms`. */
class Rendezvous {
  private waiting?: () => void;
  met = 0;
  meet(ms: number): Promise<void> {
    const other = this.waiting;
    if (other) {
      this.waiting = undefined;
      this.met++;
      other();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        if (this.waiting === done) this.waiting = undefined;
        resolve();
      }, ms);
      this.waiting = done;
    });
  }
}

/** The store as the resolver sees it, its first graph read of each batch held at the rendezvous. */
function meeting(store: PgStore, r: Rendezvous): ProfileStore {
  let fresh = false;
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'exclusive') return <T>(fn: () => Promise<T>) => target.exclusive(() => ((fresh = true), fn()));
      if (prop === 'lookupIdentifiers') {
        return async (keys: string[]) => {
          if (fresh) {
            fresh = false;
            await r.meet(400);
          }
          return target.lookupIdentifiers(keys);
        };
      }
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('two engines with stores of their own, resolving overlapping people at the same moment', () => {
  it('one profile per person and every merge kept: the partition of one engine syncing both sources', async () => {
    const single = uniqueSchema('conc1');
    const shared = uniqueSchema('conc2');
    schemas.push(single, shared);
    const one = await boot({ configFile: configFile(single), store: await openStore(single), logLevel: 'error' });
    for (const s of ['left', 'right']) expect((await one.engine.runSync(s)).ok).toBe(true);
    const expected = await pgPartition(stores[0].conn);
    expect(expected.profiles).toHaveLength(PEOPLE);
    expect(expected.profiles.filter((p) => p.records.length === 3)).toHaveLength(PEOPLE / 10);

    const r = new Rendezvous();
    const cfg = configFile(shared);
    const a = await boot({ configFile: cfg, store: meeting(await openStore(shared), r), logLevel: 'error' });
    const b = await boot({ configFile: cfg, store: meeting(await openStore(shared), r), logLevel: 'error' });
    const [ra, rb] = await Promise.all([a.engine.runSync('left'), b.engine.runSync('right')]);
    expect(ra.ok, ra.error).toBe(true);
    expect(rb.ok, rb.error).toBe(true);
    const got = await pgPartition(stores[1].conn);
    expect(got.profiles.length).toBe(PEOPLE);
    expect(got).toEqual(expected);
  }, 300_000);
});
