import { afterEach, describe, expect, it } from 'vitest';
import { startBrevoServer, type BrevoServer, type BrevoServerOptions } from './__fixtures__/brevo-server.js';

/** The contract server itself, against Brevo's documented behaviour, over real HTTP. */
let server: BrevoServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts: BrevoServerOptions = {}): Promise<BrevoServer> {
  server = await startBrevoServer(opts);
  return server;
}

async function call(s: BrevoServer, method: string, path: string, body?: unknown, key: string | null = s.apiKey) {
  const res = await fetch(`${s.url}${path}`, {
    method,
    headers: { ...(key === null ? {} : { 'api-key': key }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const waitFor = async (pred: () => Promise<boolean>) => {
  for (let i = 0; i < 1000; i++) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not reached');
};

describe('Brevo contract server', () => {
  it('refuses a missing or wrong api-key with 401 unauthorized and serves /account with the right one', async () => {
    const s = await start();
    expect((await call(s, 'GET', '/account', undefined, null)).json).toMatchObject({ code: 'unauthorized' });
    expect((await call(s, 'GET', '/account', undefined, 'xkeysib-wrong')).status).toBe(401);
    expect((await call(s, 'GET', '/account')).status).toBe(200);
  });

  it('creates with 201 {id}, refuses a second create without updateEnabled (duplicate_parameter), updates with 204', async () => {
    const s = await start();
    const created = await call(s, 'POST', '/contacts', { email: 'a@example.com', attributes: { FIRSTNAME: 'Ann' } });
    expect(created.status).toBe(201);
    expect(typeof created.json?.id).toBe('number');
    const dup = await call(s, 'POST', '/contacts', { email: 'A@example.com', attributes: { FIRSTNAME: 'Bob' } });
    expect(dup).toMatchObject({ status: 400, json: { code: 'duplicate_parameter' } });
    expect((await call(s, 'POST', '/contacts', { email: 'a@example.com', attributes: { FIRSTNAME: 'Bea' }, listIds: [2], updateEnabled: true })).status).toBe(204);
    expect(s.contactByEmail('a@example.com')).toMatchObject({ attributes: { FIRSTNAME: 'Bea' }, listIds: [2] });
    expect(s.contacts()).toHaveLength(1);
  });

  it('refuses lower-case and undeclared attributes, a bad SMS and unknown lists with 400 invalid_parameter', async () => {
    const s = await start({ attributes: ['PLAN'] });
    for (const attributes of [{ firstname: 'x' }, { COLOR: 'red' }, { SMS: '0612345678' }]) {
      expect((await call(s, 'POST', '/contacts', { email: 'b@example.com', attributes })).json).toMatchObject({ code: 'invalid_parameter' });
    }
    expect((await call(s, 'POST', '/contacts', { email: 'b@example.com', listIds: [99] })).json).toMatchObject({ code: 'invalid_parameter' });
    expect((await call(s, 'POST', '/contacts', { email: 'b@example.com', attributes: { PLAN: 'pro', SMS: '+33612345678' } })).status).toBe(201);
    expect(s.contactBySms('+33612345678')?.email).toBe('b@example.com');
  });

  it('fails a whole /contacts/batch with 404 when one contact is unknown, and applies nothing', async () => {
    const s = await start();
    await call(s, 'POST', '/contacts', { email: 'c@example.com', attributes: { LASTNAME: 'Old' } });
    const res = await call(s, 'POST', '/contacts/batch', { contacts: [{ email: 'c@example.com', attributes: { LASTNAME: 'New' } }, { email: 'nobody@example.com', attributes: {} }] });
    expect(res).toMatchObject({ status: 404, json: { message: 'No contact found for indexes 1' } });
    expect(s.contactByEmail('c@example.com')?.attributes.LASTNAME).toBe('Old');
  });

  it('lifts the email blocklist when PUT changes EMAIL, unless the request sets emailBlacklisted', async () => {
    const s = await start();
    s.state.seed({ email: 'old1@example.com', emailBlacklisted: true });
    s.state.seed({ email: 'old2@example.com', emailBlacklisted: true });
    expect((await call(s, 'PUT', '/contacts/old1%40example.com?identifierType=email_id', { attributes: { EMAIL: 'new1@example.com' } })).status).toBe(204);
    expect((await call(s, 'PUT', '/contacts/old2%40example.com?identifierType=email_id', { attributes: { EMAIL: 'new2@example.com' }, emailBlacklisted: true })).status).toBe(204);
    expect(s.contactByEmail('new1@example.com')?.emailBlacklisted).toBe(false);
    expect(s.contactByEmail('new2@example.com')?.emailBlacklisted).toBe(true);
    expect(s.contactByEmail('old1@example.com')).toBeUndefined();
    expect((await call(s, 'PUT', '/contacts/new2%40example.com?identifierType=email_id', { attributes: { EMAIL: 'new1@example.com' } })).json).toMatchObject({ code: 'duplicate_parameter' });
    expect((await call(s, 'PUT', '/contacts/ghost%40example.com?identifierType=email_id', { attributes: {} })).json).toMatchObject({ code: 'document_not_found' });
  });

  it('deletes with 204, answers 404 for a contact it does not hold and 405 for one it may not delete', async () => {
    const s = await start();
    s.state.seed({ email: 'd@example.com', ext_id: 'p9' });
    s.state.seed({ email: 'keep@example.com' });
    s.refuseDelete('email_id', 'keep@example.com');
    expect((await call(s, 'DELETE', '/contacts/p9?identifierType=ext_id')).status).toBe(204);
    expect((await call(s, 'DELETE', '/contacts/p9?identifierType=ext_id')).status).toBe(404);
    expect((await call(s, 'DELETE', '/contacts/keep%40example.com?identifierType=email_id')).status).toBe(405);
    expect(s.contacts().map((c) => c.email)).toEqual(['keep@example.com']);
  });

  it('runs an import asynchronously (queued -> in_process -> completed), ignores unknown attributes and reports rejected contacts in a CSV', async () => {
    const s = await start({ importDelayMs: 1000 });
    const started = await call(s, 'POST', '/contacts/import', {
      listIds: [1],
      jsonBody: [
        { email: 'i1@example.com', attributes: { FIRSTNAME: 'One', UNKNOWN_ATTR: 'x' } },
        { email: 'not-an-email', attributes: {} },
        { email: 'i1@example.com', attributes: { FIRSTNAME: 'Dup' } },
      ],
    });
    expect(started.status).toBe(202);
    const id = started.json?.processId as number;
    // Nothing is applied before the process completes, and the statuses only move forward.
    const order = ['queued', 'in_process', 'completed'];
    const seen: string[] = [];
    await waitFor(async () => {
      // Read before the status call: a contact already applied means the process had completed. (Checked the
      // other way round, the import can finish between the status answer and the check, under load.)
      const applied = s.contactByEmail('i1@example.com') !== undefined;
      const p = await call(s, 'GET', `/processes/${id}`);
      const st = String(p.json?.status);
      if (applied) expect(st).toBe('completed');
      if (seen.at(-1) !== st) seen.push(st);
      return st === 'completed';
    });
    expect(seen.map((x) => order.indexOf(x))).toEqual([...seen.map((x) => order.indexOf(x))].sort());
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.every((x) => order.includes(x))).toBe(true);
    expect(s.contactByEmail('i1@example.com')).toMatchObject({ attributes: { FIRSTNAME: 'One' }, listIds: [1] });
    expect(s.contactByEmail('i1@example.com')?.attributes.UNKNOWN_ATTR).toBeUndefined();
    const info = (await call(s, 'GET', `/processes/${id}`)).json?.info as { import: Record<string, string> };
    const csv = await (await fetch(info.import.invalid_emails_url)).text();
    expect(csv).toContain('not-an-email');
    expect(await (await fetch(info.import.duplicate_email_id_url)).text()).toContain('i1@example.com');
  });

  it('refuses imports without listIds, with two sources, or with a jsonBody over 10 MB', async () => {
    const s = await start();
    expect((await call(s, 'POST', '/contacts/import', { jsonBody: [] })).json).toMatchObject({ code: 'missing_parameter' });
    expect((await call(s, 'POST', '/contacts/import', { listIds: [1], jsonBody: [], fileBody: 'EMAIL' })).json).toMatchObject({ code: 'invalid_parameter' });
    const big = Array.from({ length: 11 * 1024 }, (_, i) => ({ email: `u${i}@example.com`, attributes: { LASTNAME: 'x'.repeat(1000) } }));
    expect((await call(s, 'POST', '/contacts/import', { listIds: [1], jsonBody: big })).status).toBe(400);
  });

  it('limits /v3/contacts to 10 requests in any second with 429 and x-sib-ratelimit headers, and processes per hour', async () => {
    const s = await start({ rateLimit: { perSecond: 10, processesPerHour: 3 } });
    const answers = await Promise.all(Array.from({ length: 25 }, (_, i) => call(s, 'POST', '/contacts', { email: `r${i}@example.com` })));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0].headers.get('x-sib-ratelimit-remaining')).toBe('0');
    expect(Number(limited[0].headers.get('x-sib-ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    const ok = s.requests.filter((r) => r.status === 201).map((r) => r.at);
    for (const t of ok) expect(ok.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(10);
    expect(s.count429()).toBe(limited.length);
    const polls = [];
    for (let i = 0; i < 4; i++) polls.push((await call(s, 'GET', '/processes/1')).status);
    expect(polls).toEqual([404, 404, 404, 429]);
  });

  it('takes events with a valid name and an identifier, and refuses the rest', async () => {
    const s = await start();
    expect((await call(s, 'POST', '/events', { event_name: 'order_completed', identifiers: { email_id: 'e@example.com' }, event_properties: { total: 3 } })).status).toBe(204);
    expect((await call(s, 'POST', '/events', { event_name: 'order completed', identifiers: { email_id: 'e@example.com' } })).json).toMatchObject({ code: 'invalid_parameter' });
    expect((await call(s, 'POST', '/events', { event_name: 'x', identifiers: {} })).json).toMatchObject({ code: 'missing_parameter' });
    expect((await call(s, 'POST', '/events', { event_name: 'x', identifiers: { ext_id: 'p1' }, event_properties: { big: 'x'.repeat(51 * 1024) } })).status).toBe(400);
    expect(s.events.map((e) => e.event_name)).toEqual(['order_completed']);
  });

  it('injects faults: the same seed gives the same answers; drops close the socket; hangs never answer', async () => {
    const run = async () => {
      const s = await startBrevoServer({ rateLimit: false, faults: { seed: 42, rate: 0.5, kinds: ['429', '500', 'html'] } });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++) statuses.push((await call(s, 'GET', '/account').catch(() => ({ status: -1 }))).status);
      await s.close();
      return statuses;
    };
    const a = await run();
    expect(a).toEqual(await run());
    expect(new Set(a).size).toBeGreaterThan(1);
    const s = await start();
    s.failNext('drop');
    await expect(call(s, 'GET', '/account')).rejects.toThrow();
    s.failNext('hang');
    await expect(fetch(`${s.url}/account`, { headers: { 'api-key': s.apiKey }, signal: AbortSignal.timeout(200) })).rejects.toThrow();
    expect(s.requests.map((r) => r.fault)).toEqual(['drop', 'hang']);
  });
});
