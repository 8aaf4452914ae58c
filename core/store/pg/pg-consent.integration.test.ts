import { afterEach, describe, expect, it } from 'vitest';
import type { CanonicalRecord } from '../../schema/canonical.js';
import { WITHDRAWN_HASH } from '../../privacy/consent.js';
import { BACKENDS, type LedgerBackend } from './__fixtures__/ledger-backends.js';

const open: LedgerBackend[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

const T = (h: number) => `2026-12-01T${String(h).padStart(2, '0')}:00:00.000Z`;

function rec(recordId: string, observedAt: string, consent?: Record<string, boolean>): CanonicalRecord {
  return { kind: 'identify', source: 'web', stream: 'forms', recordId, observedAt, identifiers: [], traits: {}, ...(consent ? { consent } : {}) };
}

async function storeRecord(b: LedgerBackend, r: CanonicalRecord, profileId: string) {
  await b.exec('INSERT INTO records(key, source, stream, record_id, profile_id, kind, observed_at, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
    `${r.source}/${r.stream}/${r.recordId}`,
    r.source,
    r.stream,
    r.recordId,
    profileId,
    r.kind,
    r.observedAt,
    JSON.stringify(r),
  ]);
}

async function profile(b: LedgerBackend, id: string, body: unknown) {
  await b.exec('INSERT INTO profiles(id, created_at, updated_at, body) VALUES (?, ?, ?, ?)', [id, T(0), T(0), JSON.stringify(body)]);
}

async function delivered(b: LedgerBackend, destination: string, id: string, hash = 'h') {
  await b.ledger.settle(destination, { ack: [], put: [{ profileId: id, ref: `ref-${id}`, hash }], remove: [], deadLetters: [], failed: [], cleared: [] });
}

describe.each(BACKENDS)('consent on %s', (_kind, openBackend) => {
  async function backend(): Promise<LedgerBackend> {
    const b = await openBackend('consent');
    open.push(b);
    return b;
  }

  it("keeps every statement once, and explains a profile's consent: the statement that stands and the history of its records", async () => {
    const b = await backend();
    const r1 = rec('1', T(1), { email_marketing: true, sms_marketing: false });
    const r2 = rec('2', T(3), { email_marketing: false });
    const r3 = rec('3', T(2), { email_marketing: true });
    const stranger = rec('9', T(1), { email_marketing: true });
    await b.insertConsent([r1, rec('quiet', T(1)), stranger], T(5));
    // Read again: the same statements are not stored twice; a new one (r2, r3) adds to the history.
    await b.insertConsent([r1, r2, r3, r2], T(6));
    await b.insertConsent([], T(7));
    for (const r of [r1, r2, r3]) await storeRecord(b, r, 'p1');
    await storeRecord(b, stranger, 'p2');
    // A compact body (profile-codec.ts): cells [value, at, index into $s].
    await profile(b, 'p1', {
      aggregates: { traits: { 'consent.email_marketing': [false, T(3), 0], 'consent.sms_marketing': [false, T(1), 1], name: ['Ada', T(1), 1] } },
      traits: 0,
      $s: ['web/forms/2', 'web/forms/1'],
    });
    const n = await b.all<{ n: unknown }>('SELECT COUNT(*) AS n FROM consent_statements');
    expect(Number(n[0].n)).toBe(5);
    const from = (recordId: string, at: string) => ({ source: 'web', stream: 'forms', recordId, at });
    const h = (value: boolean, recordId: string, at: string) => ({ value, ...from(recordId, at) });
    expect(await b.explainConsent('p1')).toEqual([
      { purpose: 'email_marketing', value: false, from: from('2', T(3)), history: [h(true, '1', T(1)), h(true, '3', T(2)), h(false, '2', T(3))] },
      { purpose: 'sms_marketing', value: false, from: from('1', T(1)), history: [h(false, '1', T(1))] },
    ]);
    expect(await b.explainConsent('nobody')).toEqual([]);
    const stored = await b.all<{ stored_at: string }>('SELECT stored_at FROM consent_statements WHERE record_key = ? AND purpose = ?', ['web/forms/1', 'email_marketing']);
    expect(stored).toEqual([{ stored_at: T(5) }]);
  });

  it('counts the withdrawals a destination still owes and those it made, reading consent from plain and compact bodies', async () => {
    const b = await backend();
    const cell = (v: unknown) => ({ v, at: T(1), src: 'web/forms/1' });
    await profile(b, 'granted', { traits: { consent: { email_marketing: true } } });
    await profile(b, 'withdrew', { traits: { consent: { email_marketing: false } } });
    await profile(b, 'silent', { traits: { name: 'Bo' } });
    await profile(b, 'other-purpose', { traits: { consent: { sms_marketing: true } } });
    await profile(b, 'compact-granted', { aggregates: { traits: { 'consent.email_marketing': [true, T(1), 0] } }, traits: 0, $s: ['web/forms/1'] });
    await profile(b, 'compact-withdrew', { aggregates: { traits: { 'consent.email_marketing': [false, T(1), 0] } }, traits: 0, $s: ['web/forms/1'] });
    // A null trait is no statement: the cell decides.
    await profile(b, 'cell-granted', { traits: { consent: { email_marketing: null } }, aggregates: { traits: { 'consent.email_marketing': cell(true) } } });
    await profile(b, 'string-true', { traits: { consent: { email_marketing: 'true' } } });
    await profile(b, 'marked', { traits: { consent: { email_marketing: false } } });
    for (const id of ['granted', 'withdrew', 'silent', 'other-purpose', 'compact-granted', 'compact-withdrew', 'cell-granted', 'string-true']) await delivered(b, 'out', id);
    await delivered(b, 'out', 'marked', WITHDRAWN_HASH);
    await delivered(b, 'elsewhere', 'withdrew');
    expect(await b.ledger.withdrawalStatus('out', 'email_marketing')).toEqual({ pending: 5, withdrawn: 1 });
    expect(await b.ledger.withdrawalStatus('out', 'sms_marketing')).toEqual({ pending: 7, withdrawn: 1 });
    expect(await b.ledger.withdrawalStatus('nowhere', 'email_marketing')).toEqual({ pending: 0, withdrawn: 0 });
  });
});
