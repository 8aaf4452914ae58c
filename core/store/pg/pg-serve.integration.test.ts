import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { boot, type Booted } from '../../container.js';
import type { LoadedConfig } from '../../config/load.js';
import { captureLogger } from '../../../test/kit/context.js';
import { buildServer, openPgInbox } from '../../serve/setup.js';
import type { TributaryServer } from '../../serve/server.js';
import { WRITE_KEY, removeTrackingConfigs, trackingConfig } from '../../serve/__fixtures__/tracking-config.js';
import { PgInboxReader } from './pg-inbox.js';
import { TEST_PG_URL, testConn } from './__fixtures__/pg-test.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});
afterAll(removeTrackingConfigs);

describe('tributary serve on a PostgreSQL store', () => {
  it('accepts tracking events into the PostgreSQL inbox, de-duplicated, and reports ready once the store answered', async () => {
    const { file } = trackingConfig();
    const booted: Booted = await boot({ configFile: file, logger: captureLogger(), env: { ...process.env, WEB_WRITE_KEY: WRITE_KEY } });
    cleanup.push(() => booted.close());
    const { conn, schema, drop } = testConn('serve');
    cleanup.push(drop);
    // The same config with `store: { postgres }` (the store itself is opened by the syncs, not by serve).
    const loaded = { ...booted.loaded, config: { ...booted.loaded.config, store: { postgres: TEST_PG_URL, schema } } } as unknown as LoadedConfig;
    const server: TributaryServer = buildServer(loaded, booted.registry, captureLogger(), { port: 0, host: '127.0.0.1' }, await openPgInbox(loaded));
    cleanup.push(() => server.close());
    const { port } = await server.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
    const post = (path: string, body: unknown) => fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(body) });
    const event = { messageId: 'm-1', userId: 'u1', event: 'Order Completed', timestamp: '2026-12-01T10:00:00.000Z' };
    expect((await post('/v1/track', event)).status).toBe(200);
    expect((await post('/v1/track', event)).status).toBe(200);
    const rows = await new PgInboxReader(conn).read('web', { afterSeq: 0, limit: 10 });
    expect(rows.map((r) => [r.stream, r.dedupKey, r.body.event])).toEqual([['track', 'm-1', 'Order Completed']]);
    // Ready: the probe has reached the store by now (it is measured in the background).
    let ready: Response | undefined;
    for (let i = 0; i < 50; i++) {
      ready = await fetch(`${base}/readyz`);
      if (ready.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ready?.status).toBe(200);
    expect(await ready!.json()).toMatchObject({ ok: true, store: true, backlog: 1 });
  });
});
