import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryClock } from '../../core/delivery/rate-limit.js';
import type { ConfiguredStream, SourceMessage, StreamState } from '../../core/plugin/types.js';
import { collect, sourceConnectorKit } from '../../test/kit/source-kit.js';
import { testContext } from '../../test/kit/context.js';
import { startBrevoServer, type BrevoServer } from './__fixtures__/brevo-server.js';
import { brevoSourceConfigSchema, createBrevoSource, type BrevoSourceConfig } from './source.js';

const contacts: ConfiguredStream<Record<string, never>> = { name: 'contacts', mode: 'incremental', cursorField: 'modifiedAt', primaryKey: ['id'], config: {} };

function create(s: BrevoServer, n: number, from = 1): number[] {
  const ids: number[] = [];
  for (let i = from; i < from + n; i++) {
    const a = s.state.createContact({ email: `c${i}-${process.pid}@example.com`, ext_id: `ext-${i}`, attributes: { FIRSTNAME: `C${i}`, SMS: `+3361234${String(i).padStart(4, '0')}` } });
    expect(a.status).toBe(201);
    ids.push((a.body as { id: number }).id);
  }
  return ids;
}

const configOf = (s: BrevoServer, extra: Partial<BrevoSourceConfig> = {}): BrevoSourceConfig =>
  brevoSourceConfigSchema.parse({ apiKey: s.apiKey, baseUrl: s.url, pageSize: 2, ...extra });

describe('brevo source against the Brevo contract server', () => {
  let server: BrevoServer;
  beforeAll(async () => {
    server = await startBrevoServer();
    create(server, 5);
  });
  afterAll(async () => server.close());

  sourceConnectorKit({
    connector: createBrevoSource(),
    setup: async () => configOf(server),
    stream: () => contacts,
    expectedInitialCount: 5,
    keyOf: (d) => String(d.id),
    addNewer: async () => create(server, 2, 100).map(String),
    farFutureState: () => ({ cursor: '2999-01-01T00:00:00.000Z' }),
    badConfigs: [
      {
        name: 'wrong api key',
        get config() {
          return { apiKey: 'xkeysib-wrong', baseUrl: server.url };
        },
        message: /GET http:\/\/127\.0\.0\.1:\d+\/v3\/contacts \(stream contacts, first page\): 401 Unauthorized/,
      },
      { name: 'page too large', config: { apiKey: 'k', pageSize: 5000 }, message: /pageSize: Brevo returns at most 1000 contacts a page/ },
      { name: 'over the budget', config: { apiKey: 'k', perSecond: 20 }, message: /perSecond: Brevo allows 10 requests\/s/ },
    ],
  });

  it('records carry what the documented mapping reads: email, attributes.SMS, ext_id, blocklist flags as opt-ins', async () => {
    server.contacts()[1].emailBlacklisted = true;
    const { records } = await collect(createBrevoSource(), configOf(server), [{ ...contacts, mode: 'full_refresh', cursorField: undefined }]);
    expect(records[0].data).toMatchObject({ email: `c1-${process.pid}@example.com`, ext_id: 'ext-1', attributes: { SMS: '+33612340001', FIRSTNAME: 'C1' }, emailBlacklisted: false, smsBlacklisted: false, emailOptIn: true, smsOptIn: true });
    expect(records[1].data).toMatchObject({ emailBlacklisted: true, emailOptIn: false, smsOptIn: true, emailConsent: false });
    // Not blocklisted is no statement: only a blocklist withdraws.
    expect(records[0].data).not.toHaveProperty('emailConsent');
    expect(records[1].data).not.toHaveProperty('smsConsent');
    const sent = server.requests.filter((r) => r.path === '/v3/contacts').at(-1)!;
    expect(sent.query).toMatch(/limit=2/);
    expect(sent.query).toMatch(/sort=asc/);
  });
});

describe('brevo source: windows, changes during a pass, limits', () => {
  let server: BrevoServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('modifiedSince is sent as YYYY-MM-DDTHH:mm:ss.SSSZ; a contact changed during a pass is read again next run', async () => {
    const s = (server = await startBrevoServer());
    const ids = create(s, 6);
    // Brevo writes dates with the account's offset; modifiedSince must be UTC with milliseconds.
    const old = (sec: number) => `2024-01-01T02:00:0${sec}.000+02:00`;
    s.contacts().forEach((c, i) => (c.modifiedAt = old(i)));
    const config = configOf(s, { overlapSeconds: 0 });
    const saved = (await collect(createBrevoSource(), config, [contacts])).states.get('contacts')!;
    expect(saved.cursor).toBe(old(5));

    // All six change; while the pass is between pages, the first contact (already read) changes again.
    s.contacts().forEach((c) => (c.modifiedAt = new Date().toISOString()));
    const seen: number[] = [];
    const messages: SourceMessage[] = [];
    for await (const m of createBrevoSource().read(testContext(config), [contacts], { contacts: saved })) {
      messages.push(m);
      if (m.type === 'record') seen.push(m.data.id as number);
      if (m.type === 'state' && seen.length === 2) {
        await new Promise((r) => setTimeout(r, 5));
        s.contactByExtId('ext-1')!.modifiedAt = new Date().toISOString();
        await new Promise((r) => setTimeout(r, 5));
        s.contactByExtId('ext-6')!.modifiedAt = new Date().toISOString();
      }
    }
    expect(seen).toEqual(ids);
    const query = s.requests.filter((r) => r.path === '/v3/contacts').at(-1)!.query;
    expect(decodeURIComponent(query)).toMatch(/modifiedSince=2024-01-01T00:00:05\.000Z/);
    const pageStates = messages.filter((m): m is Extract<SourceMessage, { type: 'state' }> => m.type === 'state');
    for (const st of pageStates.slice(0, -1)) expect(st.state.cursor).toBe(old(5));
    const final = pageStates.at(-1)!.state;
    // The next run reads ext-1 (changed after it was read); ext-6 was read with its latest change.
    const next = await collect(createBrevoSource(), config, [contacts], { contacts: final as StreamState });
    expect(next.records.map((r) => r.data.ext_id)).toEqual(['ext-1']);
  });

  it('a 429 waits the x-sib-ratelimit-reset seconds and reads on; 10/s is never exceeded', async () => {
    // Fake time does not pace real requests: the server's own limiter is off for this part.
    const unlimited = await startBrevoServer({ rateLimit: false });
    create(unlimited, 24);
    let t = Date.now();
    const sleeps: number[] = [];
    const clock: DeliveryClock = { now: () => t, sleep: async (ms) => void (sleeps.push(ms), (t += ms)) };
    unlimited.failNext('429', { count: 1, path: /^\/v3\/contacts$/ });
    const fake = await collect(createBrevoSource({ clock }), configOf(unlimited), [contacts]);
    await unlimited.close();
    expect(fake.records.length).toBe(24);
    expect(unlimited.count429()).toBe(1);
    expect(sleeps).toContain(1000);

    const s = (server = await startBrevoServer());
    create(s, 24);

    const before = s.count429();
    const real = await collect(createBrevoSource(), configOf(s, { pageSize: 1 }), [{ ...contacts, mode: 'full_refresh', cursorField: undefined }]);
    expect(real.records.length).toBe(24);
    expect(s.count429() - before).toBe(0);
  });
});
