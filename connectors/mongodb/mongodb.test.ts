import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Document } from 'mongodb';
import { ConfigError, ConnectionError } from '../../core/errors.js';
import type { ConfiguredStream, RecordMessage, StreamState } from '../../core/plugin/types.js';
import { collect, sourceConnectorKit } from '../../test/kit/source-kit.js';
import { captureLogger, testContext } from '../../test/kit/context.js';
import type { MongodbConfig, MongodbStreamConfig } from './config.js';
import { FakeMongoServer } from './__fixtures__/fake-mongo-server.js';
import { insertWithDriver, mongodbKitOptions, seedCustomers } from './__fixtures__/kit-options.js';
import plugin from './index.js';
import { mongodbSource } from './source.js';

// The shared kit, against the in-process wire-protocol server (the real driver talks to it over TCP).
sourceConnectorKit(
  mongodbKitOptions(async () => {
    const server = await FakeMongoServer.start();
    return { url: server.url(), database: 'kit', teardown: () => server.stop() };
  }),
);

const DB = 'app';
let server: FakeMongoServer;

beforeEach(async () => {
  server = await FakeMongoServer.start();
});
afterEach(async () => {
  await server.stop();
});

function config(overrides: Partial<MongodbConfig> = {}): MongodbConfig {
  return mongodbSource.spec.config.parse({ url: server.url(), database: DB, batchSize: 3, checkpointEvery: 5, connectTimeoutMs: 2000, ...overrides });
}

function stream(overrides: Partial<ConfiguredStream<MongodbStreamConfig>> = {}): ConfiguredStream<MongodbStreamConfig> {
  return { name: 'customers', mode: 'incremental', cursorField: 'updatedAt', primaryKey: ['_id'], config: { collection: 'customers' }, ...overrides };
}

const ids = (records: RecordMessage[]) => records.map((r) => String(r.data._id));
/** A sort document as the server received it (numbers arrive as BSON Int32). */
const sortOf = (cmd: Document) => Object.entries(cmd.sort).map(([k, v]) => [k, Number(v)]);

/** Seed through the driver; returns the hex ids in insertion order. */
async function seed(docs: Document[] = seedCustomers()): Promise<string[]> {
  return insertWithDriver(server.url(), DB, 'customers', docs);
}

/** The ids in the order an incremental read must return them: by (updatedAt, _id). */
function expectedOrder(): string[] {
  return server
    .documents(DB, 'customers')
    .filter((d) => d.updatedAt instanceof Date)
    .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime() || a._id.toHexString().localeCompare(b._id.toHexString()))
    .map((d) => d._id.toHexString());
}

/**
 * Read until `stopAfterStates` state messages were seen, then stop as a crashed
 * worker would: the records after the last state are lost with it.
 */
async function readUntilState(cfg: MongodbConfig, s: ConfiguredStream<MongodbStreamConfig>, state: StreamState | undefined, stopAfterStates: number) {
  const committed: RecordMessage[] = [];
  let pending: RecordMessage[] = [];
  let last = state;
  let seen = 0;
  for await (const m of mongodbSource.read(testContext(cfg), [s], { [s.name]: state })) {
    if (m.type === 'record') pending.push(m);
    if (m.type === 'state') {
      committed.push(...pending);
      pending = [];
      last = m.state;
      if (++seen >= stopAfterStates) break;
    }
  }
  return { committed, state: last };
}

describe('plugin definition', () => {
  it('exports one mongodb source with the url marked secret', () => {
    expect(plugin.name).toBe('mongodb');
    expect(plugin.sources.map((s) => s.id)).toEqual(['mongodb']);
    expect(mongodbSource.spec.secrets).toEqual(['url']);
    expect(config()).toMatchObject({ batchSize: 3, checkpointEvery: 5 });
    expect(mongodbSource.spec.config.parse({ url: 'mongodb://h', database: 'd' })).toMatchObject({ batchSize: 1000, checkpointEvery: 1000 });
  });
});

describe('incremental read with ties', () => {
  it('sends the tie-safe query: (f > v) or (f = v and _id > id), sorted by f then _id, in batches', async () => {
    await seed();
    const first = await collect(mongodbSource, config(), [stream()]);
    expect(ids(first.records)).toEqual(expectedOrder());
    await collect(mongodbSource, config(), [stream()], { customers: first.states.get('customers') });
    const find = server.commands('find').at(-1)!;
    expect(sortOf(find)).toEqual([
      ['updatedAt', 1],
      ['_id', 1],
    ]);
    expect(Number(find.batchSize)).toBe(3);
    expect(find.allowDiskUse).toBe(true);
    const or = find.filter.$or;
    expect(Object.keys(or[0])).toEqual(['updatedAt']);
    expect(Object.keys(or[0].updatedAt)).toEqual(['$gt']);
    expect(Object.keys(or[1])).toEqual(['updatedAt', '_id']);
    expect(or[1].updatedAt).toBeInstanceOf(Date);
    expect(Object.keys(or[1]._id)).toEqual(['$gt']);
  });

  it('many short runs stopping inside tie groups read every document exactly once, in order', async () => {
    // 5 documents per timestamp, batches of 2, a checkpoint after every document: each run stops mid-tie.
    const docs = seedCustomers(23).map((d, i) => ({ ...d, updatedAt: new Date(Date.UTC(2024, 0, 1, 0, Math.floor(i / 5))) }));
    await seed(docs);
    const cfg = config({ batchSize: 2, checkpointEvery: 1 });
    const seen: string[] = [];
    let state: StreamState | undefined;
    for (let run = 0; run < 30; run++) {
      const r = await readUntilState(cfg, stream(), state, 3);
      seen.push(...ids(r.committed));
      state = r.state;
      if (!r.committed.length) break;
    }
    expect(seen).toEqual(expectedOrder());
    expect(new Set(seen).size).toBe(23);
  });

  it('a later write tied with the saved position, and an update, are read on the next run', async () => {
    await seed();
    const first = await collect(mongodbSource, config(), [stream()]);
    const state = first.states.get('customers')!;
    const lastAt = server.documents(DB, 'customers').at(-1)!.updatedAt as Date;
    // Same updatedAt as the last document read, inserted later so its ObjectId is larger.
    const [tied] = await seed([{ email: 'tied@example.com', updatedAt: lastAt }]);
    const updated = server.documents(DB, 'customers')[0];
    server.replace(DB, 'customers', { ...updated, email: 'changed@example.com', updatedAt: new Date(lastAt.getTime() + 1000) });
    const second = await collect(mongodbSource, config(), [stream()], { customers: state });
    expect(ids(second.records)).toEqual([tied, updated._id.toHexString()]);
    expect(second.records[1].data.email).toBe('changed@example.com');
  });

  it('reads from a state that went through JSON, as the engine stores it', async () => {
    await seed();
    const first = await readUntilState(config(), stream(), undefined, 2);
    const stored: StreamState = JSON.parse(JSON.stringify(first.state));
    expect(stored).toEqual(first.state);
    expect(stored).toMatchObject({ kind: 'incremental', cursorField: 'updatedAt', after: { value: { type: 'date' }, id: { type: 'objectId' } } });
    const rest = await collect(mongodbSource, config(), [stream()], { customers: stored });
    expect([...ids(first.committed), ...ids(rest.records)]).toEqual(expectedOrder());
  });

  it('on _id (append-only) reads only documents inserted after the state', async () => {
    await seed();
    const s = stream({ cursorField: '_id' });
    const first = await collect(mongodbSource, config(), [s]);
    expect(first.records).toHaveLength(25);
    const added = await seed(seedCustomers(2));
    const second = await collect(mongodbSource, config(), [s], { customers: first.states.get('customers') });
    expect(ids(second.records)).toEqual(added);
    expect(sortOf(server.commands('find').at(-1)!)).toEqual([['_id', 1]]);
  });

  it('skips documents without the cursor field and says so once', async () => {
    await seed([...seedCustomers(4), { email: 'no-cursor@example.com' }, { email: 'null-cursor@example.com', updatedAt: null }]);
    const logger = captureLogger();
    const records: RecordMessage[] = [];
    for await (const m of mongodbSource.read({ ...testContext(config()), logger }, [stream()], {})) if (m.type === 'record') records.push(m);
    expect(records.map((r) => r.data.email)).toEqual(seedCustomers(4).map((d) => d.email));
    const warnings = logger.entries.filter((e) => e.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toMatch(/documents without "updatedAt" are not read in incremental mode/);
    // Full refresh reads them.
    const full = await collect(mongodbSource, config(), [stream({ mode: 'full_refresh' })]);
    expect(full.records).toHaveLength(6);
  });

  it('warns and starts over when the cursor field changed since the state was saved', async () => {
    await seed(seedCustomers(6).map((d) => ({ ...d, createdAt: d.updatedAt })));
    const first = await collect(mongodbSource, config(), [stream()]);
    const logger = captureLogger();
    const records: RecordMessage[] = [];
    const s = stream({ cursorField: 'createdAt' });
    for await (const m of mongodbSource.read({ ...testContext(config()), logger }, [s], { customers: first.states.get('customers') })) {
      if (m.type === 'record') records.push(m);
    }
    expect(records).toHaveLength(6);
    expect(logger.entries.map((e) => e.message).join('\n')).toMatch(/state is for cursor "updatedAt", the stream now uses "createdAt"/);
  });
});

describe('full refresh', () => {
  it('pages by _id, resumes an interrupted pass, then starts a new pass', async () => {
    const all = await seed();
    const s = stream({ mode: 'full_refresh', cursorField: undefined });
    const part = await readUntilState(config(), s, undefined, 2);
    expect(ids(part.committed)).toEqual(all.slice(0, 10));
    expect(part.state).toEqual({ kind: 'full_refresh', after: { type: 'objectId', value: all[9] } });
    const rest = await collect(mongodbSource, config(), [s], { customers: part.state });
    expect(ids(rest.records)).toEqual(all.slice(10));
    const done = rest.states.get('customers');
    expect(done).toEqual({ kind: 'full_refresh', done: true });
    const again = await collect(mongodbSource, config(), [s], { customers: done });
    expect(ids(again.records)).toEqual(all);
  });
});

describe('stream config', () => {
  it('applies an Extended JSON filter on the server', async () => {
    await seed();
    const filter = { 'address.city': 'Lyon', updatedAt: { $gte: { $date: '2024-01-01T00:03:00Z' } } };
    const { records } = await collect(mongodbSource, config(), [stream({ config: { collection: 'customers', filter } })]);
    const expected = seedCustomers().filter((d) => d.address.city === 'Lyon' && d.updatedAt >= new Date('2024-01-01T00:03:00Z'));
    expect(records.map((r) => r.data.email)).toEqual(expected.map((d) => d.email));
    const sent = server.commands('find').at(-1)!.filter;
    expect(sent.$and[0].updatedAt.$gte).toBeInstanceOf(Date);
  });

  it('keeps _id and the cursor field in an inclusion projection', async () => {
    await seed(seedCustomers(3));
    const { records } = await collect(mongodbSource, config(), [stream({ config: { collection: 'customers', projection: { email: 1, 'address.city': 1 } } })]);
    expect(Object.keys(records[0].data).sort()).toEqual(['_id', 'address', 'email', 'updatedAt']);
    expect(records[0].data.address).toEqual({ city: 'Porto' });
  });

  it('refuses a projection that drops _id or the cursor field, and incremental without a cursor', async () => {
    await seed(seedCustomers(1));
    const bad = [
      stream({ config: { collection: 'customers', projection: { updatedAt: 0 } } }),
      stream({ config: { collection: 'customers', projection: { _id: 0, email: 1 } } }),
      stream({ cursorField: undefined }),
    ];
    for (const s of bad) {
      const err = await collect(mongodbSource, config(), [s]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).context.stream).toBe('customers');
    }
    const err = (await collect(mongodbSource, config(), [stream({ cursorField: undefined })]).catch((e: unknown) => e)) as ConfigError;
    expect(err.message).toMatch(/incremental mode needs a cursor/);
  });

  it('refuses a cursor path that goes through an array', async () => {
    await seed([{ email: 'a@example.com', visits: [{ at: new Date(1000) }, { at: new Date(2000) }] }]);
    const err = await collect(mongodbSource, config(), [stream({ cursorField: 'visits.at' })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/cursor "visits\.at" must hold a single value in every document/);
  });

  it('stops at once when the run is aborted, with a state for what was read', async () => {
    await seed();
    const abort = new AbortController();
    const messages = [];
    for await (const m of mongodbSource.read({ ...testContext(config()), signal: abort.signal }, [stream()], {})) {
      messages.push(m);
      if (messages.length === 7) abort.abort();
    }
    expect(messages.filter((m) => m.type === 'record')).toHaveLength(6);
    expect(messages.at(-1)).toMatchObject({ type: 'state', state: { after: { id: { value: expectedOrder()[5] } } } });
  });

  it('rejects a filter that is not valid Extended JSON, and a state it did not write', async () => {
    const parsed = mongodbSource.spec.stream!.safeParse({ collection: 'c', filter: { _id: { $oid: 'not-hex' } } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0].message).toMatch(/not valid Extended JSON/);
    await seed(seedCustomers(1));
    const err = await collect(mongodbSource, config(), [stream()], { customers: { cursor: '2024-01-01' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/saved state is not a mongodb connector state/);
  });
});

describe('connection failures', () => {
  it('a connection dropped during getMore fails the read with a ConnectionError; the next read completes exactly the rest', async () => {
    const all = await seed();
    // Let the first getMore through, drop every connection when the second arrives (in flight).
    server.dropConnectionsOn('getMore', { skip: 1 });
    let committed: RecordMessage[] = [];
    let pending: RecordMessage[] = [];
    let state: StreamState | undefined;
    const err = await (async () => {
      for await (const m of mongodbSource.read(testContext(config()), [stream()], {})) {
        if (m.type === 'record') pending.push(m);
        else if (m.type === 'state') [committed, pending, state] = [[...committed, ...pending], [], m.state];
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    const ce = err as ConnectionError;
    expect(ce.retryable).toBe(true);
    expect(ce.context.stream).toBe('customers');
    expect(ce.describe()).toMatch(/^sync test, stream customers: lost MongoDB connection while reading app\.customers on 127\.0\.0\.1:\d+: /);
    // Batches of 3: first batch + one getMore = 6 documents read, checkpoint after 5.
    expect(committed).toHaveLength(5);
    expect(pending).toHaveLength(1);

    const rest = await collect(mongodbSource, config(), [stream()], { customers: state });
    expect([...ids(committed), ...ids(rest.records)]).toEqual(expectedOrder());
    expect(new Set([...ids(committed), ...ids(rest.records)]).size).toBe(all.length);
  });

  it('a server restart mid-read (cursor lost) is a retryable ConnectionError and resuming completes the rest', async () => {
    await seed();
    let committed: RecordMessage[] = [];
    let state: StreamState | undefined;
    let pending: RecordMessage[] = [];
    const err = await (async () => {
      for await (const m of mongodbSource.read(testContext(config()), [stream()], {})) {
        if (m.type === 'record') pending.push(m);
        else if (m.type === 'state') {
          [committed, pending, state] = [[...committed, ...pending], [], m.state];
          if (committed.length === 10) server.restart();
        }
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(true);
    expect((err as ConnectionError).message).toMatch(/lost MongoDB connection/);
    const rest = await collect(mongodbSource, config(), [stream()], { customers: state });
    expect([...ids(committed), ...ids(rest.records)]).toEqual(expectedOrder());
  });

  it('an unreachable host: check answers ok:false within the timeout, read throws a ConnectionError naming the stream', async () => {
    const cfg = config({ url: 'mongodb://reader:hunter2-secret@127.0.0.1:1/?directConnection=true', connectTimeoutMs: 800 });
    const started = Date.now();
    const res = await mongodbSource.check(testContext(cfg));
    expect(Date.now() - started).toBeLessThan(800 + 2000);
    expect(res.ok).toBe(false);
    expect(res.message).toMatch(/^cannot connect to MongoDB at 127\.0\.0\.1:1: /);
    expect(res.message).not.toMatch(/hunter2/);
    expect(res.message).not.toContain('\n');
    const err = await collect(mongodbSource, cfg, [stream()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).context.stream).toBe('customers');
    expect((err as ConnectionError).describe()).toMatch(/stream customers: cannot connect to MongoDB at 127\.0\.0\.1:1 to read app\.customers: /);
    expect((err as ConnectionError).describe()).not.toMatch(/hunter2/);
  });
});

describe('check on a reachable server', () => {
  it('fails with one line for a database without collections (a typo in the name)', async () => {
    await seed(seedCustomers(1));
    const res = await mongodbSource.check(testContext(config({ database: 'aap' })));
    expect(res.ok).toBe(false);
    expect(res.message).toMatch(/^database "aap" on 127\.0\.0\.1:\d+ has no collections this user can read/);
  });

  it('a URL the driver cannot parse: check says so, read throws a ConfigError on config.url without the password', async () => {
    const cfg = config({ url: 'mongodb://u:pa55-word@127.0.0.1:notaport/' });
    const res = await mongodbSource.check(testContext(cfg));
    expect(res.ok).toBe(false);
    expect(res.message).toMatch(/^cannot connect to MongoDB at 127\.0\.0\.1:notaport: /);
    expect(res.message).not.toContain('pa55-word');
    const err = await collect(mongodbSource, cfg, [stream()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^config\.url: /);
    expect((err as ConfigError).message).not.toContain('pa55-word');
  });
});

describe('authentication (SCRAM-SHA-256 against the fake server)', () => {
  let secured: FakeMongoServer;
  beforeEach(async () => {
    secured = await FakeMongoServer.start({ users: { reader: 'right-Pa55' } });
    await insertWithDriver(secured.url({ user: 'reader', password: 'right-Pa55' }), DB, 'customers', seedCustomers(3));
  });
  afterEach(async () => {
    await secured.stop();
  });
  const securedConfig = (password: string) =>
    mongodbSource.spec.config.parse({ url: secured.url({ user: 'reader', password }), database: DB, connectTimeoutMs: 2000 });

  it('the right password passes check and reads', async () => {
    expect(await mongodbSource.check(testContext(securedConfig('right-Pa55')))).toEqual({ ok: true });
    const { records } = await collect(mongodbSource, securedConfig('right-Pa55'), [stream()]);
    expect(records).toHaveLength(3);
  });

  it('a wrong password: check names host and user but not the password; read is a non-retryable ConnectionError', async () => {
    const res = await mongodbSource.check(testContext(securedConfig('wrong-Pa55')));
    expect(res.ok).toBe(false);
    expect(res.message).toMatch(/^MongoDB at 127\.0\.0\.1:\d+ refused access as user "reader": .*Authentication failed/);
    expect(res.message).not.toMatch(/wrong-Pa55/);
    const err = await collect(mongodbSource, securedConfig('wrong-Pa55'), [stream()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(false);
    expect((err as ConnectionError).context.stream).toBe('customers');
    expect((err as ConnectionError).message).not.toMatch(/wrong-Pa55/);
  });
});
