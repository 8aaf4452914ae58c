import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ConnectionError } from '../../core/errors.js';
import type { DeliveryClock } from '../../core/delivery/rate-limit.js';
import type { ConfiguredStream, SourceMessage, StreamState } from '../../core/plugin/types.js';
import { collect, sourceConnectorKit } from '../../test/kit/source-kit.js';
import { testContext } from '../../test/kit/context.js';
import { startApiServer, type ApiServer } from './__fixtures__/api-server.js';
import { httpConfigSchema, type HttpConfig } from './config.js';
import { createHttpSource } from './source.js';

const TOKEN = `tok-${process.pid}-${Math.random().toString(36).slice(2)}`;

/** Time that passes only when slept: waits are recorded, never spent. */
function fakeClock(): DeliveryClock & { sleeps: number[] } {
  let t = Date.UTC(2025, 0, 1);
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

const stream = (name = 'users', mode: 'incremental' | 'full_refresh' = 'incremental'): ConfiguredStream<Record<string, never>> => ({
  name,
  mode,
  cursorField: mode === 'incremental' ? 'updated_at' : undefined,
  primaryKey: ['id'],
  config: {},
});

const pageStream = {
  path: '/page',
  query: { updated_since: '{{ state.cursor }}' },
  recordSelector: 'data',
  paginator: { type: 'page', sizeParam: 'per_page', size: 3, totalPath: 'total' },
  primaryKey: ['id'],
  cursorField: 'updated_at',
} as const;

function configFor(server: ApiServer, streams: Record<string, unknown>, extra: Record<string, unknown> = {}): HttpConfig {
  return httpConfigSchema.parse({ baseUrl: server.url, auth: { type: 'bearer', token: TOKEN }, retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 10_000 }, streams, ...extra });
}

/** Every message of a read, and the error that ended it (if any). */
async function run(connector: ReturnType<typeof createHttpSource>, config: HttpConfig, streams: ConfiguredStream<Record<string, never>>[], state: Record<string, StreamState | undefined> = {}) {
  const messages: SourceMessage[] = [];
  let error: unknown;
  try {
    for await (const m of connector.read(testContext(config), streams, state)) messages.push(m);
  } catch (err) {
    error = err;
  }
  const ids = messages.flatMap((m) => (m.type === 'record' ? [m.data.id as number] : []));
  const states = messages.flatMap((m) => (m.type === 'state' ? [m.state] : []));
  return { messages, ids, states, error };
}

describe('http source against a local paginated API', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ auth: { type: 'bearer', token: TOKEN }, records: 10, pageSize: 3 });
  });
  afterAll(async () => server.close());

  sourceConnectorKit({
    connector: createHttpSource(),
    setup: async () => configFor(server, { users: pageStream }),
    stream: () => stream(),
    expectedInitialCount: 10,
    keyOf: (d) => String(d.id),
    addNewer: async () => {
      const now = new Date().toISOString();
      return [server.add({ email: 'new1@example.com', name: 'New 1', updated_at: now }), server.add({ email: 'new2@example.com', name: 'New 2', updated_at: now })].map((r) => String(r.id));
    },
    farFutureState: () => ({ cursor: '2999-01-01T00:00:00.000Z' }),
    badConfigs: [
      {
        name: 'wrong token',
        get config() {
          return { baseUrl: server.url, auth: { type: 'bearer', token: 'wrong' }, streams: { users: pageStream } };
        },
        message: /401 Unauthorized: the API refused the credentials/,
      },
      { name: 'no streams', config: { baseUrl: 'http://127.0.0.1:1', streams: {} }, message: /streams: expected at least one stream/ },
      { name: 'not a URL', config: { baseUrl: 'api.example.com', streams: { users: pageStream } }, message: /baseUrl: expected an http\(s\) URL/ },
      { name: 'unknown template', config: { baseUrl: 'http://x.test', streams: { users: { ...pageStream, query: { since: '{{ state.last }}' } } } }, message: /unknown template "\{\{ state.last \}\}"/ },
    ],
  });

  it('check names a rejected credential in one line, without the token', async () => {
    const res = await createHttpSource().check(testContext(configFor(server, { users: pageStream }, { auth: { type: 'bearer', token: 'wrong' } })));
    expect(res.ok).toBe(false);
    expect(res.message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/page \(stream users, first page\): 401 Unauthorized: the API refused the credentials \(auth.type bearer\); not retried$/);
  });

  it('check reports a selector that finds nothing, naming the keys the body has', async () => {
    const res = await createHttpSource().check(testContext(configFor(server, { users: { ...pageStream, recordSelector: 'rows' } })));
    expect(res.ok).toBe(false);
    expect(res.message).toBe('recordSelector "rows" found nothing in the answer; the body has keys data, total');
  });
});

describe('http source: pagination styles', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ records: 10, pageSize: 3 });
  });
  afterAll(async () => server.close());

  const styles: Array<[string, Record<string, unknown>, number]> = [
    ['page number, short page ends it', { path: '/page', recordSelector: 'data', paginator: { type: 'page', sizeParam: 'per_page', size: 4 } }, 3],
    ['offset with total', { path: '/offset', recordSelector: 'items', paginator: { type: 'offset', limit: 3, totalPath: 'meta.total' } }, 4],
    ['cursor token from the body', { path: '/cursor', query: { limit: '3' }, recordSelector: 'results', paginator: { type: 'cursor', path: 'next_cursor' } }, 4],
    ['next URL in the body', { path: '/next', recordSelector: 'data', paginator: { type: 'next_url', path: 'links.next' } }, 4],
    ['Link header', { path: '/link', paginator: { type: 'link' } }, 4],
  ];
  for (const [name, def, requests] of styles) {
    it(`${name}: every record once, then stops`, async () => {
      const config = httpConfigSchema.parse({ baseUrl: server.url, streams: { users: { ...def, primaryKey: ['id'] } } });
      const before = server.calls.length;
      const { ids, states, error } = await run(createHttpSource(), config, [stream('users', 'full_refresh')]);
      expect(error).toBeUndefined();
      expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(server.calls.length - before).toBe(requests);
      expect(states.at(-1)).toEqual({ done: true });
    });
  }

  it('a full refresh resumes an interrupted pass at the saved page', async () => {
    const config = httpConfigSchema.parse({ baseUrl: server.url, streams: { users: styles[2][1] } });
    const first = await run(createHttpSource(), config, [stream('users', 'full_refresh')]);
    const afterPage1 = first.states[0];
    const resumed = await run(createHttpSource(), config, [stream('users', 'full_refresh')], { users: afterPage1 });
    expect(resumed.ids).toEqual([4, 5, 6, 7, 8, 9, 10]);
  });
});

describe('http source: auth styles', () => {
  const cases = [
    { type: 'basic', username: 'ann', password: `pw-${process.pid}` },
    { type: 'api_key', name: 'X-Api-Key', value: `k-${process.pid}`, in: 'header' },
    { type: 'api_key', name: 'api_key', value: `q-${process.pid}`, in: 'query' },
  ] as const;
  for (const auth of cases) {
    it(`${auth.type}${'in' in auth ? ` in the ${auth.in}` : ''}: accepted when right, one 401 line when wrong`, async () => {
      const server = await startApiServer({ auth, records: 4, pageSize: 3 });
      try {
        const good = await run(createHttpSource(), configFor(server, { users: pageStream }, { auth }), [stream()]);
        expect(good.error).toBeUndefined();
        expect(good.ids).toEqual([1, 2, 3, 4]);
        const wrong = auth.type === 'basic' ? { ...auth, password: 'nope' } : { ...auth, value: 'nope' };
        const before = server.calls.length;
        const bad = await run(createHttpSource(), configFor(server, { users: pageStream }, { auth: wrong }), [stream()]);
        expect(bad.error).toBeInstanceOf(ConnectionError);
        expect((bad.error as ConnectionError).retryable).toBe(false);
        expect((bad.error as Error).message).toContain('401 Unauthorized');
        expect((bad.error as Error).message).not.toContain('nope');
        expect(server.calls.length - before).toBe(1);
      } finally {
        await server.close();
      }
    });
  }
});

describe('http source: errors, retries and limits', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ auth: { type: 'bearer', token: TOKEN }, records: 10, pageSize: 3 });
  });
  afterAll(async () => server.close());

  it('429 with Retry-After: waits what the API asks, then reads on', async () => {
    const clock = fakeClock();
    server.script('/page', [{ status: 429, headers: { 'retry-after': '7' } }, { status: 503, headers: { 'retry-after': '2' } }], 1);
    const { ids, error } = await run(createHttpSource({ clock }), configFor(server, { users: pageStream }), [stream()]);
    expect(error).toBeUndefined();
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(clock.sleeps).toEqual([7000, 2000]);
  });

  it('a 429 storm ends the run as "stopped by the API\'s limit", after the committed pages', async () => {
    const clock = fakeClock();
    server.script('/page', [{ status: 429 }, { status: 429 }, { status: 429 }], 1);
    const { ids, states, error, messages } = await run(createHttpSource({ clock }), configFor(server, { users: pageStream }), [stream()]);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/^stopped by the API's limit: 429 Too Many Requests 3 times in a row on GET .*\/page \(stream users, page 2\)/);
    expect(ids).toEqual([1, 2, 3]);
    expect(messages.at(-1)?.type).toBe('state');
    // Backoff grows: jittered exponential from initialDelayMs 100.
    expect(clock.sleeps.length).toBe(2);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(clock.sleeps[1]).toBeGreaterThanOrEqual(100);
    // The next run resumes at page 2.
    const resumed = await run(createHttpSource({ clock }), configFor(server, { users: pageStream }), [stream()], { users: states[0] });
    expect(resumed.ids).toEqual([4, 5, 6, 7, 8, 9, 10]);
  });

  it('a Retry-After longer than retry.maxDelayMs (a daily quota) stops at once', async () => {
    const clock = fakeClock();
    server.script('/page', [{ status: 429, headers: { 'retry-after': '86400' } }]);
    const before = server.calls.length;
    const { error } = await run(createHttpSource({ clock }), configFor(server, { users: pageStream }), [stream()]);
    expect((error as Error).message).toMatch(/^stopped by the API's limit: 429 Too Many Requests asking to wait 86400 s/);
    expect(server.calls.length - before).toBe(1);
    expect(clock.sleeps).toEqual([]);
  });

  it('the request budget paces requests, and an hourly budget used up ends the run', async () => {
    const clock = fakeClock();
    const paced = await run(createHttpSource({ clock }), configFor(server, { users: pageStream }, { rateLimit: { perSecond: 2 } }), [stream()]);
    expect(paced.ids.length).toBe(10);
    // 4 requests at 2/s: the 3rd waits for the first second (plus the limiter's slack) to pass.
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1000);
    const hourly = await run(createHttpSource({ clock: fakeClock() }), configFor(server, { users: pageStream }, { rateLimit: { perHour: 2, maxWaitMs: 1000 } }), [stream()]);
    expect((hourly.error as Error).message).toMatch(/^stopped by the API's limit: the request budget \(2\/h\) is used up/);
    expect(hourly.ids).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('the budget is one for the source: a second stream does not start a fresh window', async () => {
    const config = configFor(server, { a: pageStream, b: pageStream }, { rateLimit: { perHour: 5, maxWaitMs: 1000 } });
    const { ids, error } = await run(createHttpSource({ clock: fakeClock() }), config, [stream('a'), stream('b')]);
    expect(ids.length).toBe(13);
    expect((error as Error).message).toMatch(/^stopped by the API's limit: the request budget \(5\/h\) is used up/);
  });

  it('a 401 mid-pagination is one clear line naming the page; the pages before it are kept', async () => {
    server.script('/page', [{ status: 401 }], 1);
    const before = server.calls.length;
    const { ids, error, messages } = await run(createHttpSource({ clock: fakeClock() }), configFor(server, { users: pageStream }), [stream()]);
    expect(ids).toEqual([1, 2, 3]);
    expect(messages.at(-1)?.type).toBe('state');
    expect((error as ConnectionError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/\/page \(stream users, page 2\): 401 Unauthorized/);
    expect(server.calls.length - before).toBe(2);
  });

  it('an HTML answer is a clear error, not a crash', async () => {
    const { error } = await run(createHttpSource(), configFor(server, { users: { ...pageStream, path: '/html' } }), [stream()]);
    expect((error as Error).message).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/html \(stream users, page 1\) answered text\/html, not JSON: "<!doctype html><html><body>Please log in/);
  });

  it('a selector that finds nothing names itself and the keys of the body', async () => {
    const { error } = await run(createHttpSource(), configFor(server, { users: { ...pageStream, recordSelector: 'data.rows' } }), [stream()]);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('recordSelector "data.rows" found nothing in the answer; the body has keys data, total');
  });

  it('env templates fill headers; a missing variable is a config error', async () => {
    const def = { ...pageStream, headers: { 'x-tenant': '{{ env.TENANT }}' } };
    const before = server.calls.length;
    const ok = await run(createHttpSource({ env: { TENANT: 'acme' } }), configFor(server, { users: def }), [stream()]);
    expect(ok.error).toBeUndefined();
    expect(server.calls[before].headers['x-tenant']).toBe('acme');
    const missing = await run(createHttpSource({ env: {} }), configFor(server, { users: def }), [stream()]);
    expect((missing.error as Error).message).toBe('environment variable TENANT is not set (used as {{ env.TENANT }})');
  });
});

describe('http source: incremental state', () => {
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ auth: { type: 'bearer', token: TOKEN }, records: 9, pageSize: 3 });
  });
  afterAll(async () => server.close());

  it('state moves only when a pass ends, so an API not sorted by the cursor loses nothing on resume', async () => {
    const config = configFor(server, { users: pageStream });
    const full = await collect(createHttpSource(), config, [stream()]);
    const saved = full.states.get('users')!;
    expect(saved.cursor).toBe('2024-01-01T00:00:08.000Z');
    // Changes out of id order: the first page holds the newest ones, the second older ones.
    const at = (s: number) => new Date(Date.UTC(2024, 5, 1, 0, 0, s)).toISOString();
    for (const [i, s] of [[0, 50], [1, 51], [2, 52], [5, 10], [6, 11]]) server.records[i].updated_at = at(s);
    // A run stopped after its first page was committed...
    const first = await run(createHttpSource(), config, [stream()], { users: saved });
    expect(first.ids).toEqual([1, 2, 3, 6, 7]);
    const afterPage1 = first.states[0];
    // ...keeps the old lower bound: only the final state may move it past records not yet read.
    expect(afterPage1.cursor).toBe(saved.cursor);
    const resumed = await run(createHttpSource(), config, [stream()], { users: afterPage1 });
    expect(resumed.ids).toEqual([6, 7]);
    expect(resumed.states.at(-1)!.cursor).toBe(at(52));
  });

  it('an overlap window re-reads late records without delivering the others twice', async () => {
    const s = await startApiServer({ records: 5, pageSize: 3 });
    try {
      const config = httpConfigSchema.parse({ baseUrl: s.url, streams: { users: { ...pageStream, incremental: { overlap: 60 } } } });
      const full = await collect(createHttpSource(), config, [stream()]);
      expect(full.records.length).toBe(5);
      const saved = full.states.get('users')!;
      // A record committed late by a coarse clock: older than the cursor, inside the window.
      const late = s.add({ email: 'late@example.com', name: 'Late', updated_at: '2024-01-01T00:00:02.500Z' });
      const before = s.calls.length;
      const next = await collect(createHttpSource(), config, [stream()], { users: saved });
      expect(s.calls[before].query.updated_since).toBe('2023-12-31T23:59:04.000Z');
      expect(next.records.map((r) => r.data.id)).toEqual([late.id]);
    } finally {
      await s.close();
    }
  });

  it('a record that is not an object is a dead letter, the others are read', async () => {
    const s = await startApiServer({ records: 0 });
    try {
      s.script('/next', [{ status: 200, body: JSON.stringify({ data: [{ id: 1, updated_at: '2024-01-01T00:00:00Z' }, 'oops'], links: {} }) }]);
      const config = httpConfigSchema.parse({ baseUrl: s.url, streams: { users: { path: '/next', recordSelector: 'data', paginator: { type: 'next_url', path: 'links.next' } } } });
      const { messages } = await run(createHttpSource(), config, [stream()]);
      expect(messages.filter((m) => m.type === 'record').length).toBe(1);
      expect(messages.find((m) => m.type === 'error')).toMatchObject({ reason: 'record is string, not an object', origin: 'users page 1 #2' });
    } finally {
      await s.close();
    }
  });
});

describe('http source: OAuth2 client credentials', () => {
  const SECRET = `cs-${process.pid}-${Math.random().toString(36).slice(2)}`;
  let server: ApiServer;
  beforeAll(async () => {
    server = await startApiServer({ auth: { type: 'oauth2', clientId: 'tributary', clientSecret: SECRET, expiresIn: 3600 }, records: 10, pageSize: 3 });
  });
  afterAll(async () => server.close());

  const oauth = (credentialsIn: 'body' | 'basic' = 'body', secret = SECRET) => ({
    auth: { type: 'oauth2_client_credentials', tokenUrl: `${server.url}/oauth/token`, clientId: 'tributary', clientSecret: secret, credentialsIn },
  });

  it('fetches one token for all pages (secret in the body or as basic auth)', async () => {
    for (const how of ['body', 'basic'] as const) {
      const before = server.tokensIssued();
      const { ids, error } = await run(createHttpSource(), configFor(server, { users: pageStream }, oauth(how)), [stream()]);
      expect(error).toBeUndefined();
      expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(server.tokensIssued() - before).toBe(1);
    }
  });

  it('a 401 mid-pagination (token revoked) gets a new token and the page once more', async () => {
    const before = server.tokensIssued();
    const ids: number[] = [];
    for await (const m of createHttpSource().read(testContext(configFor(server, { users: pageStream }, oauth())), [stream()], {})) {
      if (m.type === 'record') ids.push(m.data.id as number);
      if (m.type === 'state' && ids.length === 3) server.revokeTokens();
    }
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(server.tokensIssued() - before).toBe(2);
  });

  it('renews a token that is about to expire without waiting for a 401', async () => {
    const clock = fakeClock();
    let t = 0;
    const ticking: DeliveryClock = { now: () => clock.now() + t, sleep: clock.sleep };
    const before = server.tokensIssued();
    const calls = server.calls.length;
    for await (const m of createHttpSource({ clock: ticking }).read(testContext(configFor(server, { users: pageStream }, oauth())), [stream()], {})) {
      if (m.type === 'state') t += 3_580_000;
    }
    expect(server.tokensIssued() - before).toBe(4);
    expect(server.calls.slice(calls).filter((c) => c.status === 401)).toEqual([]);
  });

  it('refused client credentials are one line naming the token URL, never the secret', async () => {
    const { error } = await run(createHttpSource(), configFor(server, { users: pageStream }, oauth('body', 'wrong-secret')), [stream()]);
    expect((error as ConnectionError).retryable).toBe(false);
    expect((error as Error).message).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+\/oauth\/token \(OAuth2 token\): the token endpoint refused the client credentials \(invalid_client\); not retried$/);
    expect((error as Error).message).not.toContain('wrong-secret');
  });
});
