import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { boot, type Booted } from '../container.js';
import { captureLogger } from '../../test/kit/context.js';
import { buildServer } from './setup.js';
import type { TributaryServer } from './server.js';
import { echoHookPlugin } from './__fixtures__/echo-hook.js';
import { WRITE_KEY, removeTrackingConfigs, trackingConfig } from './__fixtures__/tracking-config.js';
import type { ServeConfig } from '../config/schema.js';
import type { SqliteStore } from '../store/sqlite-store.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (open.length) await open.pop()!();
});

async function start(overrides: Partial<ServeConfig> = {}) {
  const { file } = trackingConfig({}, [{ name: 'shop', connector: 'echo-hook', config: { token: '${SHOP_TOKEN}' }, streams: [{ name: 'orders', primaryKey: 'id', mapping: { identifiers: { email: 'email' } } }] }]);
  const logger = captureLogger();
  const booted: Booted = await boot({ configFile: file, logger, env: { ...process.env, WEB_WRITE_KEY: WRITE_KEY, SHOP_TOKEN: 'shop-secret-token' }, plugins: [echoHookPlugin] });
  const server: TributaryServer = buildServer(booted.loaded, booted.registry, logger, { headersTimeoutMs: 500, requestTimeoutMs: 1000, ...overrides });
  const { port } = await server.listen(0, '127.0.0.1');
  open.push(() => booted.close(), () => server.close());
  const base = `http://127.0.0.1:${port}`;
  const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
  const post = (path: string, body: unknown, headers: Record<string, string> = { authorization: auth }) =>
    fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : Buffer.isBuffer(body) ? new Uint8Array(body) : JSON.stringify(body) });
  return { booted, server, port, base, auth, post, logger, store: booted.store as SqliteStore };
}

const inboxRows = (store: SqliteStore, source = 'web') => store.inbox.read(source, { afterSeq: 0, limit: 10_000 });

afterAll(removeTrackingConfigs);

describe('tributary serve', () => {
  it('health, readiness, metrics and 404 for unknown paths', async () => {
    const { base, post } = await start();
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ok: true, store: true, backlog: 0 });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await post('/hooks/unknown', {})).status).toBe(404);
    expect((await post('/v1/teleport', { userId: 'u' })).status).toBe(404);
    await post('/v1/track', { userId: 'u1', event: 'Signed Up', messageId: 'm-1' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/tributary_http_requests_total\{route="\/v1\/track",status="200"\} 1/);
    expect(metrics).toMatch(/tributary_http_requests_total\{route="unknown",status="404"\} 3/);
    expect(metrics).toMatch(/tributary_events_accepted_total\{source="web"\} 1/);
    expect(metrics).toMatch(/tributary_inbox_backlog 1/);
  });

  it('bad input: wrong or missing write key 401, malformed JSON 400, no user 400, over the limits 413; nothing stored', async () => {
    const { post, store, auth } = await start();
    expect((await post('/v1/track', { userId: 'u', event: 'e' }, { authorization: `Basic ${Buffer.from('wrong-key-123:').toString('base64')}` })).status).toBe(401);
    expect((await post('/v1/track', { userId: 'u', event: 'e' }, {})).status).toBe(401);
    expect((await post('/v1/track', '{"userId": "u", "event": ', { authorization: auth })).status).toBe(400);
    expect((await post('/v1/track', { event: 'no one' })).status).toBe(400);
    expect((await post('/v1/track', { userId: 'u' })).status).toBe(400);
    expect((await post('/v1/alias', { userId: 'u' })).status).toBe(400);
    expect((await post('/v1/track', { userId: 'u', event: 'big', properties: { blob: 'x'.repeat(33 * 1024) } })).status).toBe(413);
    const many = Array.from({ length: 2501 }, (_, i) => ({ type: 'track', userId: 'u', event: 'e', messageId: `m${i}` }));
    expect((await post('/v1/batch', { batch: many })).status).toBe(413);
    const fat = Array.from({ length: 20 }, (_, i) => ({ type: 'track', userId: 'u', event: 'e', messageId: `f${i}`, properties: { blob: 'y'.repeat(30 * 1024) } }));
    expect((await post('/v1/batch', { batch: fat })).status).toBe(413);
    // One bad message refuses the whole batch: never a partial silent drop.
    const oneBad = await post('/v1/batch', { batch: [{ type: 'track', userId: 'u', event: 'ok', messageId: 'ok-1' }, { type: 'track', event: 'nobody' }] });
    expect(oneBad.status).toBe(400);
    expect(((await oneBad.json()) as { error: string }).error).toMatch(/batch\[1\]/);
    expect(await inboxRows(store)).toEqual([]);
  });

  it('a duplicate messageId answers 200 and is stored once; writeKey in the body works too', async () => {
    const { post, store } = await start();
    const msg = { userId: 'u1', event: 'Order Completed', messageId: 'dup-1', writeKey: WRITE_KEY };
    const first = await post('/v1/track', msg, {});
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    const again = await post('/v1/track', msg, {});
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 1 });
    const rows = await inboxRows(store);
    expect(rows).toHaveLength(1);
    // The write key is not kept with the event.
    expect(JSON.stringify(rows[0].body)).not.toContain(WRITE_KEY);
  });

  it('gzip bodies are inflated; a gzip bomb is 413 without being inflated whole', async () => {
    const { post, auth, store } = await start();
    const ok = await post('/v1/identify', gzipSync(JSON.stringify({ userId: 'u2', traits: { firstName: 'Zoe' }, messageId: 'gz-1' })), { authorization: auth, 'content-encoding': 'gzip' });
    expect(ok.status).toBe(200);
    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(500 * 1024);
    const before = process.memoryUsage().rss;
    const r = await post('/v1/batch', bomb, { authorization: auth, 'content-encoding': 'gzip' });
    expect(r.status).toBe(413);
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    expect((await post('/v1/track', Buffer.from('not gzip at all'), { authorization: auth, 'content-encoding': 'gzip' })).status).toBe(400);
    expect((await inboxRows(store)).map((r) => r.dedupKey)).toEqual(['gz-1']);
  });

  it('slowloris: a client that never finishes its headers or its body is cut off while others are served', async () => {
    const { port, post } = await start();
    const slow = (data: string) =>
      new Promise<{ closedAfterMs: number; reply: string }>((resolve) => {
        const started = Date.now();
        let reply = '';
        const s = connect(port, '127.0.0.1', () => s.write(data));
        s.on('data', (d) => (reply += d.toString()));
        s.on('error', () => undefined);
        s.on('close', () => resolve({ closedAfterMs: Date.now() - started, reply }));
      });
    const headers = slow('POST /v1/track HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const body = slow('POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"userId":');
    // Meanwhile another client gets its answers.
    for (let i = 0; i < 5; i++) expect((await post('/v1/track', { userId: 'u', event: 'e', messageId: `s${i}` })).status).toBe(200);
    const [h, b] = await Promise.all([headers, body]);
    expect(h.closedAfterMs).toBeLessThan(5000);
    expect(b.closedAfterMs).toBeLessThan(5000);
    expect(h.reply).toMatch(/^HTTP\/1.1 408/);
  });

  it('mounts the inbound routes of sources whose connector has them, with their body limit', async () => {
    const { post, store } = await start();
    expect((await post('/hooks/shop', { id: 'o1', email: 'a@shop.test' }, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post('/hooks/shop', { id: 'o1', email: 'a@shop.test' }, { authorization: 'Bearer shop-secret-token' })).status).toBe(200);
    expect((await post('/hooks/shop', { id: 'o1', email: 'a@shop.test' }, { authorization: 'Bearer shop-secret-token' })).status).toBe(200);
    expect((await post('/hooks/shop', { id: 'o2', pad: 'z'.repeat(4096) }, { authorization: 'Bearer shop-secret-token' })).status).toBe(413);
    expect((await inboxRows(store, 'shop')).map((r) => r.body.id)).toEqual(['o1']);
  });

  it('answers 503 with Retry-After once the inbox backlog reaches its bound, and /readyz says so', async () => {
    const { post, base } = await start({ inboxBound: 2 });
    expect((await post('/v1/track', { userId: 'u', event: 'e', messageId: 'b1' })).status).toBe(200);
    expect((await post('/v1/track', { userId: 'u', event: 'e', messageId: 'b2' })).status).toBe(200);
    const full = await post('/v1/track', { userId: 'u', event: 'e', messageId: 'b3' });
    expect(full.status).toBe(503);
    expect(full.headers.get('retry-after')).toBe('5');
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
  });

  it('request logs never carry write keys, tokens or bodies', async () => {
    const { post, logger } = await start();
    await post('/v1/identify', { userId: 'secret-person', traits: { email: 'hidden@example.org' }, messageId: 'l1' });
    await post('/v1/track', { userId: 'u', event: 'e', writeKey: WRITE_KEY }, {});
    await post('/hooks/shop', { id: 'o9' }, { authorization: 'Bearer shop-secret-token' });
    const text = JSON.stringify(logger.entries);
    expect(logger.entries.some((e) => e.message === 'request')).toBe(true);
    for (const s of [WRITE_KEY, Buffer.from(`${WRITE_KEY}:`).toString('base64'), 'shop-secret-token', 'hidden@example.org', 'secret-person']) expect(text).not.toContain(s);
  });
});
