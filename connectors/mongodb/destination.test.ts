import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../core/errors.js';
import { testContext } from '../../test/kit/context.js';
import { sampleProfiles } from '../../test/kit/destination-kit.js';
import { mongodbDestinationSuite } from './__fixtures__/destination-suite.js';
import { FakeMongoServer } from './__fixtures__/fake-mongo-server.js';
import { mongodbDestination } from './destination.js';

let fake: FakeMongoServer;
/** Collections with the "validator" (traits.firstName, when present, must be a string). */
const validated = new Set<string>();
const DB = `dest_${process.pid}`;

mongodbDestinationSuite({
  async target() {
    fake = await FakeMongoServer.start();
    return { url: fake.url(), database: DB, teardown: () => fake.stop() };
  },
  async requireStringFirstName(_target, collection) {
    validated.add(collection);
    fake.rejectWrites({
      when: (doc, coll) => {
        const first = (doc.traits as { firstName?: unknown } | undefined)?.firstName;
        return validated.has(coll) && first !== undefined && typeof first !== 'string';
      },
      errmsg: 'Document failed validation',
    });
  },
  async failRetryable() {
    // The next update command is never answered: every connection drops, as in a failover.
    fake.dropConnectionsOn('update');
  },
});


describe('mongodb destination: authentication against the fake server', () => {
  let secured: FakeMongoServer;
  beforeAll(async () => {
    secured = await FakeMongoServer.start({ users: { writer: 'right-Pa55' } });
  });
  afterAll(() => secured.stop());
  const securedConfig = (password: string) =>
    mongodbDestination.spec.config.parse({ url: secured.url({ user: 'writer', password }), database: DB, collection: 'p', connectTimeoutMs: 2000 });

  it('the right password writes', async () => {
    expect(await mongodbDestination.check(testContext(securedConfig('right-Pa55')))).toEqual({ ok: true });
    const res = await mongodbDestination.write(testContext(securedConfig('right-Pa55')), sampleProfiles(2).map((p) => ({ key: p.id, op: 'upsert' as const, profile: p })));
    expect(res.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(secured.documents(DB, 'p').map((d) => d._id)).toEqual(['p0', 'p1']);
  });

  it('a wrong password: write throws a non-retryable ConnectionError without the password; check says the same', async () => {
    const err = await mongodbDestination.write(testContext(securedConfig('wrong-Pa55')), sampleProfiles(1).map((p) => ({ key: p.id, op: 'upsert' as const, profile: p }))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/^MongoDB at 127\.0\.0\.1:\d+ refused access as user "writer": .*Authentication failed/);
    expect((err as Error).message).not.toMatch(/wrong-Pa55/);
    const res = await mongodbDestination.check(testContext(securedConfig('wrong-Pa55')));
    expect(res.ok).toBe(false);
    expect(res.message).not.toMatch(/wrong-Pa55/);
  });

  it('refuses a mapping output that is not a plain top-level field name', () => {
    expect(mongodbDestination.mapping?.names?.test('$where')).toBe(false);
    expect(mongodbDestination.mapping?.names?.test('a.b')).toBe(false);
    expect(mongodbDestination.mapping?.names?.test('_id')).toBe(false);
    expect(mongodbDestination.mapping?.names?.test('loyaltyTier')).toBe(true);
  });
});

describe('mongodb destination: consent withdrawal', () => {
  let server: FakeMongoServer;
  beforeAll(async () => {
    server = await FakeMongoServer.start();
  });
  afterAll(() => server.stop());

  it('a delete with reason consent_withdrawn removes the document even without mirror; another delete keeps it', async () => {
    const config = mongodbDestination.spec.config.parse({ url: server.url(), database: DB, collection: 'consent', connectTimeoutMs: 2000 });
    const ctx = testContext(config);
    const [a, b] = sampleProfiles(2);
    expect(await mongodbDestination.write(ctx, [a, b].map((p) => ({ key: p.id, op: 'upsert' as const, profile: p })))).toEqual([{ status: 'ok' }, { status: 'ok' }]);
    const res = await mongodbDestination.write(ctx, [
      { key: a.id, op: 'delete', previous: { ref: a.id }, reason: 'consent_withdrawn', purpose: 'email_marketing' },
      { key: b.id, op: 'delete', previous: { ref: b.id }, reason: 'unmatched' },
    ]);
    expect(res).toEqual([{ status: 'ok' }, { status: 'ok' }]);
    expect(server.documents(DB, 'consent').map((d) => d._id)).toEqual([b.id]);
  });
});
