// Writes store.db and expected.json, the fixture of a store as schema 3 wrote it (made with the
// code at be1a1d3, whose SQLite store is main's at 3ecd216, before record bodies were compacted):
//   npm run build && node core/store/__fixtures__/schema-v3/make-store.mjs DIR
// then VACUUM DIR/store.db with journal_mode DELETE and copy it and DIR/expected.json here.
// Kept verbatim: do not regenerate with newer code (expected.json is what schema 3 answered).
import { stringify } from 'yaml';
import { writeFileSync, rmSync } from 'node:fs';
import { boot } from '../../../../dist/core/container.js';
import { exportSubject } from '../../../../dist/core/privacy/export-subject.js';
import { readEverything } from './reads.mjs';

const dir = process.argv[2];
const input = new URL('.', import.meta.url).pathname;
rmSync(`${dir}/store.db`, { force: true });
// The late CRM export has no crm ids: its record joins two profiles (a merge).
const crm = (path, ids) => ({
  name: 'customers',
  primaryKey: 'crm_id',
  config: { path: `${input}${path}` },
  mapping: {
    identifiers: { email: 'email', phone: { field: 'phone', regionField: 'country' }, ...ids },
    traits: { firstName: 'first_name', lastName: 'last_name' },
    observedAt: 'updated_at',
  },
});
const cfg = {
  store: { sqlite: `${dir}/store.db` },
  normalize: { defaultRegion: 'US' },
  sources: [
    { name: 'crm', connector: 'csv', streams: [crm('crm.csv', { 'external_id.crm': 'crm_id' })] },
    { name: 'crm_late', connector: 'csv', streams: [crm('crm-late.csv', {})] },
    { name: 'shop', connector: 'csv', streams: [{ name: 'orders', kind: 'track', primaryKey: 'order_id', config: { path: `${input}orders.csv` },
      mapping: { identifiers: { email: 'email' }, observedAt: 'ordered_at', event: { name: 'order_completed', properties: { amount: 'amount' }, revenue: 'amount', currency: 'currency' } } }] },
    { name: 'newsletter', connector: 'jsonl', streams: [{ name: 'subscribers', primaryKey: 'id', config: { path: `${input}newsletter.jsonl` },
      mapping: { identifiers: { email: 'email' }, traits: { firstName: 'first_name', prefs: 'prefs' }, observedAt: 'subscribed_at', consent: { newsletter: 'consent' } } }] },
  ],
  privacy: { purposes: ['newsletter'] },
  resolution: { computed: { orders_count: { event: 'order_completed', op: 'count' }, lifetime_value: { event: 'order_completed', op: 'sum', property: 'revenue' } } },
};
writeFileSync(`${dir}/fix.yaml`, stringify(cfg));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const b = await boot({ configFile: `${dir}/fix.yaml`, logger: quiet });
for (const s of ['crm', 'shop', 'newsletter', 'crm_late']) {
  const r = await b.engine.runSync(s, { deliverAfter: false });
  if (!r.ok) throw new Error(r.error);
}
// Retention has cut two orders (bodies with expiredAt, properties dropped).
const expired = await b.store.privacy.expireTrackRecords({ source: 'shop', stream: 'orders', before: '2026-02-03T00:00:00.000Z', maxSeq: 1e9, keepProperties: [], dryRun: false });
if (expired !== 2) throw new Error(`expired ${expired} orders, expected 2`);
writeFileSync(`${dir}/expected.json`, `${JSON.stringify(await readEverything(b.store, exportSubject), null, 1)}\n`);
console.log(b.store.counts(), b.store.schemaVersion());
await b.close();
