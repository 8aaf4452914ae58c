// Writes store.db, the fixture of a store as schema 2 wrote it (made with the code at 20a69b3,
// before profile bodies were compacted): `npm run build && node core/store/__fixtures__/schema-v2/make-store.mjs DIR`,
// then VACUUM the file with journal_mode DELETE and copy DIR/store.db here. Kept verbatim: do not regenerate with newer code.
import { stringify } from 'yaml';
import { writeFileSync, rmSync } from 'node:fs';
import { boot } from '../../../../dist/core/container.js';
const dir = process.argv[2];
const input = new URL('.', import.meta.url).pathname;
rmSync(`${dir}/store.db`, { force: true });
const cfg = {
  store: { sqlite: `${dir}/store.db` },
  normalize: { defaultRegion: 'US' },
  sources: [
    { name: 'crm', connector: 'csv', streams: [{ name: 'customers', primaryKey: 'crm_id', config: { path: `${input}crm.csv` },
      mapping: { identifiers: { email: 'email', phone: { field: 'phone', regionField: 'country' } }, traits: { firstName: 'first_name', lastName: 'last_name' }, observedAt: 'updated_at' } }] },
    { name: 'crm_late', connector: 'csv', streams: [{ name: 'customers', primaryKey: 'crm_id', config: { path: `${input}crm-late.csv` },
      mapping: { identifiers: { email: 'email', phone: { field: 'phone', regionField: 'country' } }, traits: { firstName: 'first_name', lastName: 'last_name' }, observedAt: 'updated_at' } }] },
    { name: 'shop', connector: 'csv', streams: [{ name: 'orders', kind: 'track', primaryKey: 'order_id', config: { path: `${input}orders.csv` },
      mapping: { identifiers: { email: 'email' }, observedAt: 'ordered_at', event: { name: 'order_completed', properties: { amount: 'amount' }, revenue: 'amount', currency: 'currency' } } }] },
    { name: 'newsletter', connector: 'jsonl', streams: [{ name: 'subscribers', primaryKey: 'id', config: { path: `${input}newsletter.jsonl` },
      mapping: { identifiers: { email: 'email' }, traits: { firstName: 'first_name' }, observedAt: 'subscribed_at', consent: { newsletter: 'consent' } } }] },
  ],
  privacy: { purposes: ['newsletter'] },
  resolution: { computed: { orders_count: { event: 'order_completed', op: 'count' }, lifetime_value: { event: 'order_completed', op: 'sum', property: 'revenue' } } },
};
writeFileSync(`${dir}/fix.yaml`, stringify(cfg));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const b = await boot({ configFile: `${dir}/fix.yaml`, logger: quiet });
for (const s of ['crm', 'shop', 'newsletter', 'crm_late']) { const r = await b.engine.runSync(s, { deliverAfter: false }); if (!r.ok) throw new Error(r.error); }
console.log(b.store.counts(), b.store.schemaVersion());
await b.close();
