import type Database from 'better-sqlite3';
import { hostname } from 'node:os';
import type { DeadLetterInput, DeliveryLedger, DeliverySettlement, DestinationStatus, StoredTrackRecord, WithdrawalStatus } from './types.js';
import { lastPurpose, recordPurpose, withdrawalStatus } from './sqlite-consent.js';
import { decodeRecord, RECORD_COLUMNS } from './record-codec.js';
import { destinationStatusOfRow } from './row-shapes.js';

type Row = Record<string, unknown>;

/** Is a process of this host alive? (signal 0 checks without touching it; EPERM means it exists.) */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The delivery side of the SQLite store. Shares the store's connection (and so
 * its write transactions); `insertDeadLetter` and `nextSeq` come from the store
 * so dead letters and outbox sequence numbers have one writer each.
 */
export class SqliteDeliveryLedger implements DeliveryLedger {
  private readonly s;

  constructor(
    private readonly db: Database.Database,
    private readonly insertDeadLetter: (dl: DeadLetterInput, at: string) => void,
    /** Reserve `n` outbox sequence numbers inside the current transaction; returns the first. */
    private readonly reserveSeq: (n: number) => number,
    /** Run a write, waiting while another process holds the store's write lock (a rebuild). */
    private readonly write: <T>(fn: () => T) => Promise<T> = async (fn) => fn(),
  ) {
    this.s = {
      delivered: db.prepare('SELECT ref, hash FROM delivered WHERE destination = ? AND profile_id = ?'),
      put: db.prepare(
        `INSERT INTO delivered(destination, profile_id, ref, hash, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(destination, profile_id) DO UPDATE SET ref = excluded.ref, hash = excluded.hash, at = excluded.at`,
      ),
      remove: db.prepare('DELETE FROM delivered WHERE destination = ? AND profile_id = ?'),
      ack: db.prepare('DELETE FROM outbox WHERE destination = ? AND profile_id = ? AND seq = ?'),
      failure: db.prepare('SELECT runs, first_at FROM delivery_failures WHERE destination = ? AND item = ?'),
      fail: db.prepare(
        `INSERT INTO delivery_failures(destination, item, runs, first_at, reason) VALUES (?, ?, 1, ?, ?)
         ON CONFLICT(destination, item) DO UPDATE SET runs = runs + 1, reason = excluded.reason`,
      ),
      clear: db.prepare('DELETE FROM delivery_failures WHERE destination = ? AND item = ?'),
      ensure: db.prepare('INSERT OR IGNORE INTO destinations(name) VALUES (?)'),
      status: db.prepare('SELECT * FROM destinations WHERE name = ?'),
      eventSeq: db.prepare('UPDATE destinations SET event_seq = ? WHERE name = ?'),
      retryDone: db.prepare('DELETE FROM event_retry WHERE destination = ? AND record_key = ?'),
      outboxGet: db.prepare('SELECT merged_from FROM outbox WHERE destination = ? AND profile_id = ?').pluck(),
      outboxPut: db.prepare('INSERT OR REPLACE INTO outbox(destination, profile_id, seq, merged_from) VALUES (?, ?, ?, ?)'),
      resolveAlias: db.prepare('SELECT profile_id FROM aliases WHERE alias = ?').pluck(),
      lease: db.prepare('SELECT owner, pid, host, expires_at FROM leases WHERE name = ?'),
      leasePut: db.prepare('INSERT OR REPLACE INTO leases(name, owner, pid, host, expires_at) VALUES (?, ?, ?, ?, ?)'),
    };
  }

  async delivered(destination: string, profileIds: string[]) {
    const out = new Map<string, { ref: string; hash: string }>();
    for (const id of profileIds) {
      const r = this.s.delivered.get(destination, id) as { ref: string; hash: string } | undefined;
      if (r) out.set(id, { ref: r.ref, hash: r.hash });
    }
    return out;
  }

  async failures(destination: string, items: string[]) {
    const out = new Map<string, { runs: number; firstAt: string }>();
    for (const item of items) {
      const r = this.s.failure.get(destination, item) as Row | undefined;
      if (r) out.set(item, { runs: Number(r.runs), firstAt: r.first_at as string });
    }
    return out;
  }

  async settle(destination: string, st: DeliverySettlement, at?: string): Promise<void> {
    const now = at ?? new Date().toISOString();
    const s = this.s;
    await this.write(() => this.db.transaction(() => {
      for (const p of st.put) s.put.run(destination, p.profileId, p.ref, p.hash, now);
      for (const id of st.remove) s.remove.run(destination, id);
      for (const dl of st.deadLetters) this.insertDeadLetter(dl, now);
      for (const f of st.failed) s.fail.run(destination, f.item, now, f.reason);
      for (const item of st.cleared) s.clear.run(destination, item);
      // Deleting by (profile, seq) keeps an entry that a sync re-queued meanwhile.
      for (const e of st.ack) s.ack.run(destination, e.profileId, e.seq);
      for (const k of st.eventRetried ?? []) s.retryDone.run(destination, k);
      if (st.eventSeq !== undefined) {
        s.ensure.run(destination);
        s.eventSeq.run(st.eventSeq, destination);
      }
    })());
  }

  async status(destination: string): Promise<DestinationStatus> {
    const r = this.s.status.get(destination) as Row | undefined;
    return destinationStatusOfRow(destination, r);
  }

  async enqueueAll(destination: string): Promise<number> {
    return this.write(() => this.db.transaction(() => {
      const ids = this.db.prepare('SELECT id FROM profiles ORDER BY id').pluck().all() as string[];
      if (!ids.length) return 0;
      let seq = this.reserveSeq(ids.length);
      for (const id of ids) {
        const prev = this.s.outboxGet.get(destination, id) as string | undefined;
        this.s.outboxPut.run(destination, id, seq++, prev ?? '[]');
      }
      return ids.length;
    })());
  }

  async markInitialized(destination: string): Promise<void> {
    await this.write(() => {
      this.s.ensure.run(destination);
      this.db.prepare('UPDATE destinations SET initialized_at = ? WHERE name = ?').run(new Date().toISOString(), destination);
    });
  }

  async setDisabled(destination: string, reason: string | undefined): Promise<void> {
    await this.write(() => {
      this.s.ensure.run(destination);
      this.db.prepare('UPDATE destinations SET disabled = ? WHERE name = ?').run(reason ?? null, destination);
    });
  }

  async saveRun(destination: string, run: Parameters<DeliveryLedger['saveRun']>[1]): Promise<void> {
    const last = JSON.stringify({ at: new Date().toISOString(), counts: run.counts, ...(run.error ? { error: run.error } : {}) });
    await this.write(() => {
      this.s.ensure.run(destination);
      if (run.rateLevels) this.db.prepare('UPDATE destinations SET last_run = ?, rate_levels = ? WHERE name = ?').run(last, JSON.stringify(run.rateLevels), destination);
      else this.db.prepare('UPDATE destinations SET last_run = ? WHERE name = ?').run(last, destination);
    });
  }

  async forgetDelivered(destination: string): Promise<void> {
    await this.write(() => this.db.prepare('DELETE FROM delivered WHERE destination = ?').run(destination));
  }

  async backlog(destination: string): Promise<number> {
    return Number(this.db.prepare('SELECT COUNT(*) FROM outbox WHERE destination = ?').pluck().get(destination));
  }

  async trackRecordsAfter(seq: number, limit: number): Promise<StoredTrackRecord[]> {
    const rows = this.db
      .prepare(`SELECT seq, key, profile_id, ${RECORD_COLUMNS} FROM records WHERE seq > ? AND kind = 'track' ORDER BY seq LIMIT ?`)
      .all(seq, limit) as Row[];
    return rows.map(toTrack);
  }

  async trackRecordsByKey(keys: string[]): Promise<StoredTrackRecord[]> {
    const stmt = this.db.prepare(`SELECT seq, key, profile_id, ${RECORD_COLUMNS} FROM records WHERE key = ? AND kind = 'track'`);
    return keys.map((k) => stmt.get(k) as Row | undefined).filter((r): r is Row => !!r).map(toTrack);
  }

  async eventRetries(destination: string, limit: number): Promise<string[]> {
    return this.db.prepare('SELECT record_key FROM event_retry WHERE destination = ? LIMIT ?').pluck().all(destination, limit) as string[];
  }

  async requeueDeadLetters(destination: string, ids?: number[]): Promise<number> {
    return this.write(() => this.db.transaction(() => {
      const rows = (
        ids?.length
          ? ids.map((id) => this.db.prepare('SELECT id, stream, record_id FROM dead_letters WHERE sync = ? AND id = ?').get(destination, id) as Row | undefined).filter((r): r is Row => !!r)
          : (this.db.prepare("SELECT id, stream, record_id FROM dead_letters WHERE sync = ? AND stream IN ('profiles', 'events')").all(destination) as Row[])
      ).filter((r) => (r.stream === 'profiles' || r.stream === 'events') && r.record_id);
      if (!rows.length) return 0;
      let seq = this.reserveSeq(rows.length);
      for (const r of rows) {
        const item = r.record_id as string;
        if (r.stream === 'events') {
          this.db.prepare('INSERT OR IGNORE INTO event_retry(destination, record_key) VALUES (?, ?)').run(destination, item);
        } else {
          // The profile may have been merged since it failed: its survivor is what goes out now.
          const id = (this.s.resolveAlias.get(item) as string | undefined) ?? item;
          const prev = this.s.outboxGet.get(destination, id) as string | undefined;
          this.s.outboxPut.run(destination, id, seq++, prev ?? '[]');
        }
        this.s.clear.run(destination, item);
        this.db.prepare('DELETE FROM dead_letters WHERE id = ?').run(r.id);
      }
      return rows.length;
    })());
  }

  async acquireLease(name: string, owner: string, ttlMs: number): Promise<{ holder: string } | undefined> {
    const host = hostname();
    return this.write(() => this.db.transaction(() => {
      const r = this.s.lease.get(name) as Row | undefined;
      const now = Date.now();
      if (r && r.owner !== owner && Number(r.expires_at) > now && !(r.host === host && !alive(Number(r.pid)))) {
        return { holder: `${r.host as string} pid ${String(r.pid)}` };
      }
      this.s.leasePut.run(name, owner, process.pid, host, now + ttlMs);
      return undefined;
    }).immediate());
  }

  async renewLease(name: string, owner: string, ttlMs: number): Promise<void> {
    await this.write(() => this.db.prepare('UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ?').run(Date.now() + ttlMs, name, owner));
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    await this.write(() => this.db.prepare('DELETE FROM leases WHERE name = ? AND owner = ?').run(name, owner));
  }

  async withdrawalStatus(destination: string, purpose: string): Promise<WithdrawalStatus> {
    return withdrawalStatus(this.db, destination, purpose);
  }

  async lastPurpose(destination: string): Promise<{ purpose?: string } | undefined> {
    return lastPurpose(this.db, destination);
  }

  async recordPurpose(destination: string, purpose: string | undefined): Promise<void> {
    await this.write(() => recordPurpose(this.db, destination, purpose));
  }
}

function toTrack(r: Row): StoredTrackRecord {
  return { seq: Number(r.seq), key: r.key as string, profileId: r.profile_id as string, record: decodeRecord(r) };
}
