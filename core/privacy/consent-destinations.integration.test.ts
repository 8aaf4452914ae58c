import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { customers, deliveryConfig, startDelivery, type Row } from '../delivery/__fixtures__/harness.js';
import { startBrevoServer, type BrevoServer } from '../../connectors/brevo/__fixtures__/brevo-server.js';
import { startReceiver, type Receiver } from '../../connectors/webhook/__fixtures__/receiver.js';
import { IT_DATABASE, adminClient, dropDatabase, recreateDatabase, server as pgServer } from '../../connectors/postgres/__fixtures__/seed.js';

/**
 * Consent through the engine to real destinations: a later source record that
 * withdraws consent (optin = no) is withdrawn at the destination in the next
 * delivery, the way each destination supports it.
 */

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

function setRows(file: string, rows: Row[]) {
  const cfg = parse(readFileSync(file, 'utf8'));
  cfg.sources[0].config.streams = { customers: rows };
  cfg.sources[0].streams[0].mode = 'full_refresh';
  writeFileSync(file, stringify(cfg));
}

/** One process's worth: boot, sync, deliver, close (the next run boots again, as the CLI does). */
async function syncAndDeliver(file: string) {
  const s = await startDelivery(file);
  try {
    const out = await s.engine.runSync('crm', { deliverAfter: false });
    expect(out.ok, out.error).toBe(true);
    return await s.engine.deliverTo('out');
  } finally {
    await s.close();
  }
}

async function brevo(): Promise<BrevoServer> {
  const s = await startBrevoServer();
  closers.push(() => s.close());
  return s;
}

const brevoDest = (s: BrevoServer) => ({ connector: 'brevo', purpose: 'email_marketing', config: { apiKey: s.apiKey, baseUrl: s.url, timeoutMs: 5000 } });

describe('consent withdrawals at Brevo (contract server)', () => {
  it('a later record with optin=no blacklists that contact and sends nothing else; no grant is never sent', async () => {
    const s = await brevo();
    const rows = customers(3, (i) => ({ optin: i === 2 ? '' : 'yes' }));
    const { file } = deliveryConfig({ customers: rows }, brevoDest(s));
    setRows(file, rows);
    expect(await syncAndDeliver(file)).toMatchObject({ delivered: 2, withheld: 1, failed: 0 });
    expect(s.contacts().map((c) => c.email).sort()).toEqual(['user1@shop.io', 'user2@shop.io']);
    expect(s.contactByEmail('user2@shop.io')!.emailBlacklisted).toBe(false);

    rows[1] = { ...rows[1], optin: 'no', updated_at: '2026-02-01T00:00:00Z' };
    setRows(file, rows);
    const mark = s.requests.length;
    const counts = await syncAndDeliver(file);
    expect(counts).toMatchObject({ withdrawn: 1, withheld: 2, failed: 0 });
    const sent = s.requests.slice(mark).filter((r) => r.path !== '/v3/account');
    expect(sent.map((r) => [r.method, r.path, r.body])).toEqual([['PUT', '/v3/contacts/user2%40shop.io', { emailBlacklisted: true }]]);
    const user2 = s.contactByEmail('user2@shop.io')!;
    expect(user2.emailBlacklisted).toBe(true);
    expect(user2.attributes.FIRSTNAME).toBe('Name2');
    expect(s.contactByEmail('user1@shop.io')!.emailBlacklisted).toBe(false);
    // user3 never stated consent: Brevo never heard of it.
    expect(s.requests.some((r) => r.path.includes('user3') || JSON.stringify(r.body ?? '').includes('user3'))).toBe(false);

    // The next run withdraws nothing again.
    const again = s.requests.length;
    expect(await syncAndDeliver(file)).toMatchObject({ delivered: 0 });
    expect(s.requests.slice(again).filter((r) => r.path !== '/v3/account')).toEqual([]);
  });

  it('a merge of a withdrawn and a granted profile keeps the withdrawal: the contact is blacklisted', async () => {
    const s = await brevo();
    const rows: Row[] = [
      { id: '1', email: 'ann@shop.io', phone: '', first: 'Ann', country: 'FR', optin: 'yes', updated_at: '2026-01-01T00:00:00Z' },
      { id: '2', email: '', phone: '+33612345678', first: 'Ann', country: 'FR', optin: 'no', updated_at: '2026-01-02T00:00:00Z' },
    ];
    const { file } = deliveryConfig({ customers: rows }, brevoDest(s));
    setRows(file, rows);
    expect(await syncAndDeliver(file)).toMatchObject({ delivered: 1, withheld: 1 });
    expect(s.contactByEmail('ann@shop.io')!.emailBlacklisted).toBe(false);

    // A later record (no consent field) links the email and the phone: one profile.
    rows.push({ id: '3', email: 'ann@shop.io', phone: '+33612345678', first: 'Ann', country: 'FR', optin: '', updated_at: '2026-01-03T00:00:00Z' });
    setRows(file, rows);
    expect(await syncAndDeliver(file)).toMatchObject({ withdrawn: 1, failed: 0 });
    expect(s.contactByEmail('ann@shop.io')!.emailBlacklisted).toBe(true);
    expect(s.contacts()).toHaveLength(1);
  });
});

describe('consent withdrawals at a webhook and a PostgreSQL table', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    await recreateDatabase();
    admin = await adminClient();
  });
  afterAll(async () => {
    await admin?.end();
    await dropDatabase();
  });

  it('the webhook receives one profile.consent_withdrawn item naming the purpose', async () => {
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const r: Receiver = await startReceiver({ secret });
    closers.push(() => r.close());
    const rows = customers(2);
    const { file } = deliveryConfig({ customers: rows }, { connector: 'webhook', purpose: 'email_marketing', config: { url: r.url, secret } });
    setRows(file, rows);
    await syncAndDeliver(file);
    expect(r.held.size).toBe(2);
    rows[0] = { ...rows[0], optin: 'no', updated_at: '2026-02-01T00:00:00Z' };
    setRows(file, rows);
    const before = r.deliveries.length;
    expect(await syncAndDeliver(file)).toMatchObject({ withdrawn: 1 });
    const items = r.deliveries.slice(before).flatMap((d) => d.items);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: 'profile.consent_withdrawn', purpose: 'email_marketing' });
    expect(items[0].profileId).toBe(items[0].key);
  });

  it('a PostgreSQL destination (not mirror) deletes the row of a withdrawn profile', async () => {
    const table = `consent_${process.pid}`;
    const rows = customers(2);
    const { file } = deliveryConfig(
      { customers: rows },
      { connector: 'postgres', purpose: 'email_marketing', config: { ...pgServer, database: IT_DATABASE, table, createTable: true } },
    );
    setRows(file, rows);
    await syncAndDeliver(file);
    const count = async () => Number((await admin.query(`SELECT count(*) AS n FROM public.${table}`)).rows[0].n);
    expect(await count()).toBe(2);
    rows[1] = { ...rows[1], optin: 'no', updated_at: '2026-02-01T00:00:00Z' };
    setRows(file, rows);
    expect(await syncAndDeliver(file)).toMatchObject({ withdrawn: 1, failed: 0 });
    expect(await count()).toBe(1);
    const left = (await admin.query(`SELECT * FROM public.${table}`)).rows;
    expect(JSON.stringify(left)).toContain('user1@shop.io');
    expect(JSON.stringify(left)).not.toContain('user2@shop.io');
  });

  it('a PostgreSQL destination whose mapping writes the consent column updates the row to false instead of deleting it', async () => {
    const table = `consent_col_${process.pid}`;
    const rows = customers(2);
    const { file } = deliveryConfig(
      { customers: rows },
      {
        connector: 'postgres',
        purpose: 'email_marketing',
        mapping: { email: 'identifiers.email', email_optin: 'consent.email_marketing' },
        config: { ...pgServer, database: IT_DATABASE, table, createTable: true },
      },
    );
    setRows(file, rows);
    await syncAndDeliver(file);
    const read = async () => (await admin.query(`SELECT email, email_optin FROM public.${table} ORDER BY email`)).rows;
    expect(await read()).toEqual([
      { email: 'user1@shop.io', email_optin: true },
      { email: 'user2@shop.io', email_optin: true },
    ]);
    rows[1] = { ...rows[1], optin: 'no', updated_at: '2026-02-01T00:00:00Z' };
    setRows(file, rows);
    expect(await syncAndDeliver(file)).toMatchObject({ withdrawn: 1, failed: 0 });
    expect(await read()).toEqual([
      { email: 'user1@shop.io', email_optin: true },
      { email: 'user2@shop.io', email_optin: false },
    ]);
    // Withdrawn once: the next run sends nothing.
    expect(await syncAndDeliver(file)).toMatchObject({ delivered: 0 });
  });
});
