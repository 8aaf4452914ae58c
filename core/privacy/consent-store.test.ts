import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { customers, deliveryConfig, startDelivery, type Row } from '../delivery/__fixtures__/harness.js';
import { consentLines } from './consent-explain.js';

type Started = Awaited<ReturnType<typeof startDelivery>>;
const opened: Started[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

function setRows(file: string, rows: Row[]) {
  const cfg = parse(readFileSync(file, 'utf8'));
  cfg.sources[0].config.streams = { customers: rows };
  cfg.sources[0].streams[0].mode = 'full_refresh';
  writeFileSync(file, stringify(cfg));
}

async function sync(file: string) {
  const s = await startDelivery(file);
  opened.push(s);
  const out = await s.engine.runSync('crm', { deliverAfter: false });
  expect(out.ok, out.error).toBe(true);
  return s;
}

describe('consent statements in the store and in explain', () => {
  it('keeps every statement (a record read again with another value adds to the history) and shows where the value came from', async () => {
    const rows = customers(1);
    const { file } = deliveryConfig({ customers: rows }, {});
    setRows(file, rows);
    await (await sync(file)).close();
    opened.pop();
    rows[0] = { ...rows[0], optin: 'no', updated_at: '2026-02-01T00:00:00Z' };
    setRows(file, rows);
    const s = await sync(file);
    const id = (await s.store.resolveProfileId((await s.store.iterateProfiles(10)[Symbol.asyncIterator]().next()).value![0].id))!;
    const ex = await s.store.explain(id);
    expect(ex.consent).toEqual([
      {
        purpose: 'email_marketing',
        value: false,
        from: { source: 'crm', stream: 'customers', recordId: '1', at: '2026-02-01T00:00:00.000Z' },
        history: [
          { value: true, source: 'crm', stream: 'customers', recordId: '1', at: '2026-01-01T00:00:00.000Z' },
          { value: false, source: 'crm', stream: 'customers', recordId: '1', at: '2026-02-01T00:00:00.000Z' },
        ],
      },
    ]);
    expect(consentLines(ex.consent!)).toEqual([
      'consent (1 purpose; no statement means no grant):',
      '  email_marketing: withdrawn  from crm/customers/1 observed 2026-02-01T00:00:00.000Z',
      '    2026-01-01T00:00:00.000Z  granted  crm/customers/1',
      '    2026-02-01T00:00:00.000Z  withdrawn  crm/customers/1',
    ]);
  });
});
