import type { CanonicalRecord } from '../../schema/canonical.js';
import type { DeadLetterInput, DeliveryLedger, DeliverySettlement, DestinationStatus, StoredTrackRecord, WithdrawalStatus } from '../types.js';
import type { PgConn } from './pg-conn.js';
import { lastPurpose, recordPurpose, withdrawalStatus } from './pg-consent.js';
import { PgLeases } from './pg-leases.js';
import { destinationStatusOfRow } from '../row-shapes.js';

type Row = Record<string, unknown>;

/**
 * Delivery bookkeeping of the PostgreSQL store: the tables of DELIVERY_SCHEMA_SQL
 * (core/store/sqlite-schema.ts). Millisecond times and cursors are BIGINT.
 */
export const DELIVERY_PG_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS delivered (
  destination TEXT NOT NULL, profile_id TEXT NOT NULL, ref TEXT NOT NULL, hash TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (destination, profile_id)
);
CREATE TABLE IF NOT EXISTS delivery_failures (
  destination TEXT NOT NULL, item TEXT NOT NULL, runs INTEGER NOT NULL, first_at TEXT NOT NULL, reason TEXT NOT NULL,
  PRIMARY KEY (destination, item)
);
CREATE TABLE IF NOT EXISTS event_retry (
  destination TEXT NOT NULL, record_key TEXT NOT NULL,
  PRIMARY KEY (destination, record_key)
);
CREATE TABLE IF NOT EXISTS destinations (
  name TEXT PRIMARY KEY, initialized_at TEXT, disabled TEXT, event_seq BIGINT NOT NULL DEFAULT 0,
  rate_levels TEXT, last_run TEXT
);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, expires_at BIGINT NOT NULL);
`;

/**
 * Row locks in one order: every multi-row upsert here takes its rows in profile
 * id byte order (as enqueueAll does), so two transactions writing the same
 * destination's rows (a requeue and an enqueueAll, say) wait for each other
 * instead of deadlocking; and transactions touching several tables touch them in
 * one order: delivered, dead_letters, delivery_failures, outbox, event_retry,
 * destinations. Writers of the outbox elsewhere (commitBatch) should keep the same order.
 */
const ID_ORDER = 'COLLATE "C"';

/**
 * A DELETE that takes its row locks in id order (see ID_ORDER): the rows are
 * locked by a sorted SELECT ... FOR UPDATE first. A plain DELETE locks in scan order.
 */
function orderedDelete(table: string, where: string, orderBy: string): string {
  return `DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${where} ORDER BY ${orderBy} ${ID_ORDER} FOR UPDATE)`;
}

/** Queue profiles for a destination with fresh outbox seqs (in id order), keeping what an entry already carries (merged_from). */
const OUTBOX_PUT = `
INSERT INTO outbox(destination, profile_id, seq, merged_from)
SELECT $1, t.id, nextval('outbox_seq_gen'), '[]' FROM (SELECT id FROM unnest($2::text[]) AS u(id) ORDER BY id ${ID_ORDER}) t
ON CONFLICT (destination, profile_id) DO UPDATE SET seq = excluded.seq`;

/** Keep the last of repeated keys, in the order of their last occurrence (what row-by-row upserts leave). */
function lastOf<T>(items: T[], key: (t: T) => string): T[] {
  const m = new Map<string, T>();
  for (const it of items) {
    const k = key(it);
    m.delete(k);
    m.set(k, it);
  }
  return [...m.values()];
}

/**
 * The delivery side of the PostgreSQL store (port of core/store/sqlite-delivery.ts).
 * Every multi-row write is one statement over unnest arrays; `settle` and
 * `requeueDeadLetters` run in one transaction (joining the caller's when inside
 * `conn.tx`). Dead letters are written through the store (`insertDeadLetter`) so
 * they have one writer; outbox seqs come from the `outbox_seq_gen` sequence.
 */
export class PgDeliveryLedger implements DeliveryLedger {
  private readonly leases: PgLeases;

  constructor(
    private readonly conn: PgConn,
    private readonly deps: { insertDeadLetter(dl: DeadLetterInput, at: string): Promise<void> },
  ) {
    this.leases = new PgLeases(conn);
  }

  async delivered(destination: string, profileIds: string[]) {
    const out = new Map<string, { ref: string; hash: string }>();
    if (!profileIds.length) return out;
    const rows = await this.conn.q<{ profile_id: string; ref: string; hash: string }>(
      'SELECT profile_id, ref, hash FROM delivered WHERE destination = $1 AND profile_id = ANY($2::text[])',
      [destination, profileIds],
    );
    const found = new Map(rows.map((r) => [r.profile_id, r]));
    for (const id of profileIds) {
      const r = found.get(id);
      if (r) out.set(id, { ref: r.ref, hash: r.hash });
    }
    return out;
  }

  async failures(destination: string, items: string[]) {
    const out = new Map<string, { runs: number; firstAt: string }>();
    if (!items.length) return out;
    const rows = await this.conn.q<{ item: string; runs: number; first_at: string }>(
      'SELECT item, runs, first_at FROM delivery_failures WHERE destination = $1 AND item = ANY($2::text[])',
      [destination, items],
    );
    const found = new Map(rows.map((r) => [r.item, r]));
    for (const item of items) {
      const r = found.get(item);
      if (r) out.set(item, { runs: Number(r.runs), firstAt: r.first_at });
    }
    return out;
  }

  async settle(destination: string, st: DeliverySettlement, at?: string): Promise<void> {
    const now = at ?? new Date().toISOString();
    const q = (sql: string, values: unknown[]) => this.conn.q(sql, values);
    await this.conn.tx(async () => {
      const put = lastOf(st.put, (p) => p.profileId);
      if (put.length) {
        await q(
          `INSERT INTO delivered(destination, profile_id, ref, hash, at)
           SELECT $1, id, ref, hash, $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS t(id, ref, hash) ORDER BY id ${ID_ORDER}
           ON CONFLICT (destination, profile_id) DO UPDATE SET ref = excluded.ref, hash = excluded.hash, at = excluded.at`,
          [destination, put.map((p) => p.profileId), put.map((p) => p.ref), put.map((p) => p.hash), now],
        );
      }
      if (st.remove.length) await q(orderedDelete('delivered', 'destination = $1 AND profile_id = ANY($2::text[])', 'profile_id'), [destination, st.remove]);
      for (const dl of st.deadLetters) await this.deps.insertDeadLetter(dl, now);
      if (st.failed.length) {
        // An item named twice counts twice, as two row-by-row upserts would; the last reason stands.
        const byItem = new Map<string, { n: number; reason: string }>();
        for (const f of st.failed) byItem.set(f.item, { n: (byItem.get(f.item)?.n ?? 0) + 1, reason: f.reason });
        const items = [...byItem.keys()];
        await q(
          `INSERT INTO delivery_failures(destination, item, runs, first_at, reason)
           SELECT $1, item, n, $4, reason FROM unnest($2::text[], $3::int[], $5::text[]) AS t(item, n, reason) ORDER BY item ${ID_ORDER}
           ON CONFLICT (destination, item) DO UPDATE SET runs = delivery_failures.runs + excluded.runs, reason = excluded.reason`,
          [destination, items, items.map((i) => byItem.get(i)!.n), now, items.map((i) => byItem.get(i)!.reason)],
        );
      }
      if (st.cleared.length) await q(orderedDelete('delivery_failures', 'destination = $1 AND item = ANY($2::text[])', 'item'), [destination, st.cleared]);
      if (st.ack.length) {
        // Deleting by (profile, seq) keeps an entry that a sync re-queued meanwhile.
        // Locked in id order first (see ID_ORDER); an entry re-queued meanwhile no longer matches its seq and stays.
        await q(
          `WITH locked AS (
             SELECT o.ctid AS row FROM outbox o JOIN unnest($2::text[], $3::bigint[]) AS a(id, seq) ON o.profile_id = a.id AND o.seq = a.seq
             WHERE o.destination = $1 ORDER BY o.profile_id ${ID_ORDER} FOR UPDATE OF o)
           DELETE FROM outbox WHERE ctid IN (SELECT row FROM locked)`,
          [destination, st.ack.map((e) => e.profileId), st.ack.map((e) => e.seq)],
        );
      }
      if (st.eventRetried?.length) await q(orderedDelete('event_retry', 'destination = $1 AND record_key = ANY($2::text[])', 'record_key'), [destination, st.eventRetried]);
      if (st.eventSeq !== undefined) {
        await q('INSERT INTO destinations(name, event_seq) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET event_seq = excluded.event_seq', [destination, st.eventSeq]);
      }
    });
  }

  async status(destination: string): Promise<DestinationStatus> {
    const [r] = await this.conn.q('SELECT * FROM destinations WHERE name = $1', [destination]);
    return destinationStatusOfRow(destination, r);
  }

  async enqueueAll(destination: string): Promise<number> {
    // One statement: every profile, in id order (byte order, as SQLite sorts), with seqs from the sequence.
    const [r] = await this.conn.q<{ n: string }>(
      `WITH ins AS (
         INSERT INTO outbox(destination, profile_id, seq, merged_from)
         SELECT $1, p.id, nextval('outbox_seq_gen'), '[]' FROM (SELECT id FROM profiles ORDER BY id ${ID_ORDER}) p
         ON CONFLICT (destination, profile_id) DO UPDATE SET seq = excluded.seq
         RETURNING 1)
       SELECT COUNT(*) AS n FROM ins`,
      [destination],
    );
    return Number(r.n);
  }

  async markInitialized(destination: string): Promise<void> {
    await this.conn.q('INSERT INTO destinations(name, initialized_at) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET initialized_at = excluded.initialized_at', [
      destination,
      new Date().toISOString(),
    ]);
  }

  async setDisabled(destination: string, reason: string | undefined): Promise<void> {
    await this.conn.q('INSERT INTO destinations(name, disabled) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET disabled = excluded.disabled', [destination, reason ?? null]);
  }

  async saveRun(destination: string, run: Parameters<DeliveryLedger['saveRun']>[1]): Promise<void> {
    const last = JSON.stringify({ at: new Date().toISOString(), counts: run.counts, ...(run.error ? { error: run.error } : {}) });
    if (run.rateLevels) {
      await this.conn.q(
        'INSERT INTO destinations(name, last_run, rate_levels) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run, rate_levels = excluded.rate_levels',
        [destination, last, JSON.stringify(run.rateLevels)],
      );
    } else {
      await this.conn.q('INSERT INTO destinations(name, last_run) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run', [destination, last]);
    }
  }

  async forgetDelivered(destination: string): Promise<void> {
    await this.conn.q('DELETE FROM delivered WHERE destination = $1', [destination]);
  }

  async backlog(destination: string): Promise<number> {
    const [r] = await this.conn.q<{ n: string }>('SELECT COUNT(*) AS n FROM outbox WHERE destination = $1', [destination]);
    return Number(r.n);
  }

  async trackRecordsAfter(seq: number, limit: number): Promise<StoredTrackRecord[]> {
    const rows = await this.conn.q("SELECT seq, key, profile_id, body FROM records WHERE seq > $1 AND kind = 'track' ORDER BY seq LIMIT $2", [seq, limit]);
    return rows.map(toTrack);
  }

  async trackRecordsByKey(keys: string[]): Promise<StoredTrackRecord[]> {
    if (!keys.length) return [];
    const rows = await this.conn.q("SELECT seq, key, profile_id, body FROM records WHERE key = ANY($1::text[]) AND kind = 'track'", [keys]);
    const byKey = new Map(rows.map((r) => [r.key as string, r]));
    // In the order asked, as the SQLite ledger answers.
    return keys.map((k) => byKey.get(k)).filter((r): r is Row => !!r).map(toTrack);
  }

  async eventRetries(destination: string, limit: number): Promise<string[]> {
    const rows = await this.conn.q<{ record_key: string }>(`SELECT record_key FROM event_retry WHERE destination = $1 ORDER BY record_key ${ID_ORDER} LIMIT $2`, [destination, limit]);
    return rows.map((r) => r.record_key);
  }

  async requeueDeadLetters(destination: string, ids?: number[]): Promise<number> {
    return this.conn.tx(async () => {
      // Deleted and returned in one statement: two requeues at once each take distinct rows.
      const taken = await this.conn.q<{ id: string; stream: string; record_id: string }>(
        `DELETE FROM dead_letters WHERE sync = $1 AND stream IN ('profiles', 'events') AND record_id IS NOT NULL AND record_id <> ''
           ${ids?.length ? 'AND id = ANY($2::bigint[])' : ''}
         RETURNING id, stream, record_id`,
        ids?.length ? [destination, ids] : [destination],
      );
      if (!taken.length) return 0;
      const rank = ids?.length ? new Map(ids.map((id, i) => [id, i])) : undefined;
      const order = (r: { id: string }) => (rank ? (rank.get(Number(r.id)) ?? 0) : Number(r.id));
      taken.sort((a, b) => order(a) - order(b));
      const events = taken.filter((r) => r.stream === 'events').map((r) => r.record_id);
      const profiles = taken.filter((r) => r.stream === 'profiles').map((r) => r.record_id);
      // Tables in the order of ID_ORDER's comment: failures, then the outbox, then event retries.
      await this.conn.q(orderedDelete('delivery_failures', 'destination = $1 AND item = ANY($2::text[])', 'item'), [destination, taken.map((r) => r.record_id)]);
      if (profiles.length) {
        // The profile may have been merged since it failed: its survivor is what goes out now.
        const aliases = await this.conn.q<{ alias: string; profile_id: string }>('SELECT alias, profile_id FROM aliases WHERE alias = ANY($1::text[])', [profiles]);
        const survivor = new Map(aliases.map((a) => [a.alias, a.profile_id]));
        const queued = lastOf(profiles.map((p) => survivor.get(p) ?? p), (p) => p);
        await this.conn.q(OUTBOX_PUT, [destination, queued]);
      }
      if (events.length) {
        await this.conn.q(
          `INSERT INTO event_retry(destination, record_key) SELECT $1, k FROM unnest($2::text[]) AS t(k) ORDER BY k ${ID_ORDER} ON CONFLICT DO NOTHING`,
          [destination, events],
        );
      }
      return taken.length;
    });
  }

  acquireLease(name: string, owner: string, ttlMs: number): Promise<{ holder: string } | undefined> {
    return this.leases.acquire(name, owner, ttlMs);
  }

  renewLease(name: string, owner: string, ttlMs: number): Promise<void> {
    return this.leases.renew(name, owner, ttlMs);
  }

  releaseLease(name: string, owner: string): Promise<void> {
    return this.leases.release(name, owner);
  }

  withdrawalStatus(destination: string, purpose: string): Promise<WithdrawalStatus> {
    return withdrawalStatus(this.conn, destination, purpose);
  }

  lastPurpose(destination: string): Promise<{ purpose?: string } | undefined> {
    return lastPurpose(this.conn, destination);
  }

  recordPurpose(destination: string, purpose: string | undefined): Promise<void> {
    return recordPurpose(this.conn, destination, purpose);
  }
}

function toTrack(r: Row): StoredTrackRecord {
  return { seq: Number(r.seq), key: r.key as string, profileId: r.profile_id as string, record: JSON.parse(r.body as string) as CanonicalRecord };
}
