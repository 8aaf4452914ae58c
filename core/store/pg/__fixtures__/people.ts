import type { CanonicalRecord } from '../../../schema/canonical.js';
import { identifierKey } from '../../../schema/canonical.js';
import type { Side } from './dual.js';

/** Ada (to be forgotten) and Bob (to be kept), written into a store as the engine would leave them. */
export const ADA_EMAIL = 'ada.lovelace@babbage.co.uk';
export const ADA_PHONE = '+14155552671';
export const ADA_EMAIL_KEY = identifierKey({ type: 'email', value: ADA_EMAIL });
export const ADA_PHONE_KEY = identifierKey({ type: 'phone', value: ADA_PHONE });
export const BOB_EMAIL_KEY = identifierKey({ type: 'email', value: 'bob.builder@fjordpost.no' });
/** Every form of Ada's identifiers a copy could be in. */
export const ADA_FORMS = [ADA_EMAIL, 'Ada.Lovelace@Babbage.co.uk', ADA_PHONE, '+1 415 555 2671'];
export const AT = '2026-01-02T00:00:00.000Z';

export function record(recordId: string, identifiers: CanonicalRecord['identifiers'], extra: Partial<CanonicalRecord> = {}): CanonicalRecord {
  return { kind: 'identify', source: 'crm', stream: 'customers', recordId, observedAt: AT, identifiers, traits: {}, ...extra };
}

export const ADA_RECORD = record('ada', [
  { type: 'email', value: ADA_EMAIL, raw: 'Ada.Lovelace@Babbage.co.uk' },
  { type: 'phone', value: ADA_PHONE, raw: '+1 415 555 2671' },
], { traits: { firstName: 'Ada' }, consent: { email_marketing: true } });
export const BOB_RECORD = record('bob', [{ type: 'email', value: 'bob.builder@fjordpost.no' }], { traits: { firstName: 'Bob' } });

export async function putRecord(s: Side, r: CanonicalRecord, profileId: string, links = '[]'): Promise<void> {
  await s.insert('records', {
    key: `${r.source}/${r.stream}/${r.recordId}`, source: r.source, stream: r.stream, record_id: r.recordId, profile_id: profileId,
    kind: r.kind, observed_at: r.observedAt, body: JSON.stringify(r), links,
  });
}

/** Ada is profile p_ada (which absorbed p_old), delivered to `out`; Bob is p_bob and claimed Ada's email once (refused). */
export async function seedPeople(s: Side): Promise<void> {
  await putRecord(s, ADA_RECORD, 'p_ada', '[0,1]');
  await putRecord(s, BOB_RECORD, 'p_bob', '[0]');
  for (const [id, body] of [['p_ada', '{"traits":{"firstName":"Ada"}}'], ['p_bob', '{"traits":{"firstName":"Bob"}}']]) await s.insert('profiles', { id, created_at: AT, updated_at: AT, body });
  await s.insert('identifiers', { key: ADA_EMAIL_KEY, profile_id: 'p_ada' });
  await s.insert('identifiers', { key: ADA_PHONE_KEY, profile_id: 'p_ada' });
  await s.insert('identifiers', { key: BOB_EMAIL_KEY, profile_id: 'p_bob' });
  await s.insert('aliases', { alias: 'p_old', profile_id: 'p_ada' });
  await s.insert('merges', { survivor: 'p_ada', absorbed: 'p_old', record_key: 'crm/customers/ada', identifier_key: ADA_PHONE_KEY, rule: 'mergeOn:phone', at: AT });
  // Bob's record presented Ada's email: a refused claim that names her address.
  await s.insert('presented', { identifier_key: ADA_EMAIL_KEY, profile_id: 'p_bob' });
  await s.insert('refused', { record_key: 'crm/customers/bob', identifier_key: ADA_EMAIL_KEY, profiles: '["p_ada","p_bob"]', reason: 'conflict', at: AT });
  await s.insert('refused', { record_key: 'crm/customers/bob', identifier_key: BOB_EMAIL_KEY, profiles: '["p_bob"]', reason: 'kept', at: AT });
  await s.insert('outbox', { destination: 'out', profile_id: 'p_ada', seq: 1, merged_from: '["p_old"]' });
  await s.insert('outbox', { destination: 'out', profile_id: 'p_bob', seq: 2, merged_from: '[]' });
  await s.insert('delivered', { destination: 'out', profile_id: 'p_ada', ref: `email:${ADA_EMAIL}`, hash: 'h1', at: AT });
  await s.insert('delivered', { destination: 'out', profile_id: 'p_old', ref: 'email:old-ref-of-ada', hash: 'h0', at: AT });
  await s.insert('delivered', { destination: 'out', profile_id: 'p_bob', ref: 'email:bob.builder@fjordpost.no', hash: 'h2', at: AT });
  await s.insert('delivery_failures', { destination: 'out', item: 'p_ada', runs: 1, first_at: AT, reason: 'timeout' });
  await s.insert('event_retry', { destination: 'events', record_key: 'crm/customers/ada' });
  await s.insert('destinations', { name: 'out', event_seq: 0, last_run: `failed on ${ADA_EMAIL}` });
  await s.insert('consent_statements', { record_key: 'crm/customers/ada', purpose: 'email_marketing', value: 1, observed_at: AT, source: 'crm', stream: 'customers', record_id: 'ada', stored_at: AT });
  await s.insert('blocking_keys', { key: 'dob:1815-12-10', record_key: 'crm/customers/ada' });
  await s.insert('blocking_keys', { key: 'dob:1990-01-01', record_key: 'crm/customers/bob' });
  await s.insert('probabilistic_links', { record_key: 'crm/customers/bob', other_record_key: 'crm/customers/ada', probability: 0.4, model_version: 1, evidence: '[]', at: AT });
  await s.insert('dead_letters', { sync: 'crm', stream: 'customers', record_id: 'x9', reason: 'bad date', payload: '{"mail":"ADA.LOVELACE@babbage.co.uk"}', at: AT });
  await s.insert('dead_letters', { sync: 'crm', stream: 'customers', record_id: 'x10', reason: 'bad date', payload: '{"mail":"bob.builder@fjordpost.no"}', at: AT });
  await s.insert('inbox', { source: 'hooks', stream: 'events', dedup_key: 'm1', received_at: AT, body: '{"email":"ADA.lovelace@babbage.co.uk"}' });
  await s.insert('inbox', { source: 'hooks', stream: 'events', dedup_key: 'm2', received_at: AT, body: '{"email":"someone.else@fjordpost.no"}' });
  await s.insert('runs', { name: 'crm', kind: 'sync', started_at: AT, status: 'failed', error: `upsert of ${ADA_EMAIL} refused` });
}
