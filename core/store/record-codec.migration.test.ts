import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSubject } from '../privacy/export-subject.js';
import { SqliteStore } from './sqlite-store.js';
import { SCHEMA_VERSION } from './sqlite-schema.js';
import { readEverything } from './__fixtures__/schema-v3/reads.mjs';

type Row = Record<string, unknown>;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function schema3Copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trib-record-codec-'));
  dirs.push(dir);
  const file = join(dir, 'store.db');
  copyFileSync(new URL('./__fixtures__/schema-v3/store.db', import.meta.url), file);
  return file;
}

const bodies = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT key, body FROM records ORDER BY seq').all() as Row[];
  } finally {
    db.close();
  }
};

describe('schema 4 migration (compact record bodies)', () => {
  it('re-encodes every record of a store schema 3 wrote, and every read gives back what schema 3 answered', async () => {
    const file = schema3Copy();
    const before = bodies(file);
    expect(before.length).toBe(22);
    expect(before.every((r) => (r.body as string).startsWith('{"kind":'))).toBe(true);
    const expected = readFileSync(new URL('./__fixtures__/schema-v3/expected.json', import.meta.url), 'utf8');

    const store = new SqliteStore(file);
    try {
      expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
      // Records, existing records, records of profiles, explanations (links, refusals, merges, consent),
      // subject exports, track records for delivery, the rebuild snapshot's links, field warnings.
      const now = await readEverything(store, exportSubject);
      expect(`${JSON.stringify(now, null, 1)}\n`).toBe(expected);
    } finally {
      await store.close();
    }
    const after = bodies(file);
    expect(after.map((r) => r.key)).toStrictEqual(before.map((r) => r.key));
    expect(after.filter((r) => 'kind' in JSON.parse(r.body as string))).toStrictEqual([]);
    const size = (rows: Row[]) => rows.reduce((n, r) => n + (r.body as string).length, 0);
    expect(size(after)).toBeLessThan(size(before) * 0.5);
  });

  it('a migrated store keeps working: retention, a rebuild snapshot written back, a new sync', async () => {
    const file = schema3Copy();
    const store = new SqliteStore(file);
    try {
      const first = await readEverything(store, exportSubject);
      // Retention re-encodes what it cuts; identifiers (the links' targets) stay as they were.
      const n = await store.privacy.expireTrackRecords({ source: 'shop', stream: 'orders', before: '2027-01-01T00:00:00.000Z', maxSeq: 1e9, keepProperties: ['amount'], dryRun: false });
      expect(n).toBe(4);
      const track = await store.delivery.trackRecordsAfter(0, 100);
      expect(track.map((t) => 'expiredAt' in t.record)).toStrictEqual([true, true, true, true, true, true]);
      const wasTrack = (first.track as Array<{ key: string; record: { identifiers: Array<{ type: string; value: string }> } }>).map((t) => [
        t.key,
        t.record.identifiers.map(({ type, value }) => ({ type, value })),
      ]);
      expect(track.map((t) => [t.key, t.record.identifiers])).toStrictEqual(wasTrack);
      // What `resolve --rebuild` writes back reads the identifiers from the compact bodies.
      const snapshot = await store.dumpResolution();
      expect(snapshot.links.length).toBeGreaterThan(20);
      await store.replaceResolution(snapshot, []);
      expect((await store.dumpResolution()).links).toStrictEqual(snapshot.links);
    } finally {
      await store.close();
    }
  });

  it('forget on a migrated store finds the values as the source wrote them in the compact bodies', async () => {
    const store = new SqliteStore(schema3Copy());
    try {
      // Only Bob's record has '(415) 555-0102' (the raw value of his phone, normalized +14155550102).
      await store.addDeadLetters([
        { sync: 'crm', stream: 'customers', reason: 'bad row', payload: { phone: '(415) 555-0102' } },
        { sync: 'crm', stream: 'customers', reason: 'bad row', payload: { phone: '(415) 555-0199' } },
      ]);
      const [bob] = [...(await store.lookupIdentifiers(['email\u0000bob@mail-box.net'])).values()];
      await store.privacy.forget({ kind: 'forget', profileIds: [bob], suppressKeys: [] });
      expect((await store.listDeadLetters({ limit: 10 })).map((d) => d.payload)).toStrictEqual([{ phone: '(415) 555-0199' }]);
    } finally {
      await store.close();
    }
  });

  it('a body whose header differs from its row stays plain and is read as it is', async () => {
    const file = schema3Copy();
    const db = new Database(file);
    // A row whose columns and body disagree (no current code writes one): decoding a compact
    // body would take the columns' values, so the migration must leave it alone.
    db.prepare("UPDATE records SET observed_at = '2020-01-01T00:00:00.000Z' WHERE key = 'crm/customers/1'").run();
    const plain = db.prepare("SELECT body FROM records WHERE key = 'crm/customers/1'").pluck().get() as string;
    db.close();
    const store = new SqliteStore(file);
    try {
      const [rec] = await store.existingRecords(['crm/customers/1']).then((m) => [...m.values()]);
      expect(rec.observedAt).toBe('2026-01-01T10:00:00.000Z');
    } finally {
      await store.close();
    }
    expect(bodies(file).find((r) => r.key === 'crm/customers/1')?.body).toBe(plain);
  });
});
