import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { CanonicalRecord } from '../schema/canonical.js';
import { parseIdentifierKey } from '../schema/canonical.js';
import { suppressionHash } from '../privacy/suppression.js';
import { decodeRecord, encodeRecord, identifiersOfBody, RECORD_COLUMNS } from './record-codec.js';
import { bumpGraphGeneration } from './graph-cache-session.js';
import type {
  DeleteStatus,
  ForgetCounts,
  ForgetDelete,
  ForgetDeleteOutcome,
  ForgetInput,
  ForgetResult,
  PrivacyLedger,
  PrivacyOutcome,
  PrivacyRequest,
  PrivacyRequestKind,
} from '../privacy/forget-types.js';

type Row = Record<string, unknown>;

/**
 * Privacy bookkeeping (added without a version bump: every statement is IF NOT EXISTS).
 * None of these tables holds an address or a name: suppressions are salted hashes,
 * requests hold counts, and forget_deletes holds a destination's ref only until the delete is done.
 */
export const FORGET_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS suppressions (hash TEXT PRIMARY KEY, type TEXT NOT NULL, request_id INTEGER NOT NULL, at TEXT NOT NULL) WITHOUT ROWID;
-- The audit log: one row per forget, suppress-only or unsuppress.
CREATE TABLE IF NOT EXISTS privacy_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, at TEXT NOT NULL, reason TEXT,
  outcome TEXT NOT NULL, counts TEXT NOT NULL, finished_at TEXT
);
CREATE TABLE IF NOT EXISTS forget_deletes (
  request_id INTEGER NOT NULL, destination TEXT NOT NULL, profile_id TEXT NOT NULL, ref TEXT,
  status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, error TEXT, updated_at TEXT NOT NULL,
  PRIMARY KEY (request_id, destination, profile_id)
);
CREATE INDEX IF NOT EXISTS forget_deletes_status ON forget_deletes(destination, status);
`;

/** Values shorter than this are not searched for in dead letters: they would match unrelated payloads. */
const MIN_SEARCH_LENGTH = 5;

/** The per-store salt of the suppression hashes, created on first use and kept in `meta`. */
export function suppressionSalt(db: Database.Database): string {
  const have = db.prepare("SELECT value FROM meta WHERE key = 'suppression_salt'").pluck().get() as string | undefined;
  if (have) return have;
  const salt = randomBytes(32).toString('hex');
  db.prepare("INSERT OR IGNORE INTO meta(key, value) VALUES ('suppression_salt', ?)").run(salt);
  return db.prepare("SELECT value FROM meta WHERE key = 'suppression_salt'").pluck().get() as string;
}

/**
 * Pushed events not yet drained (`tributary serve`'s inbox) that hold the person:
 * deleted inside the forget's transaction, found by any of `values` in the stored
 * body. Drained events are already gone from the inbox (their records are deleted
 * above); the de-duplication table keeps only message ids.
 */
export function forgetPushedData(db: Database.Database, person: { values: string[]; profileIds: string[] }): number {
  const del = db.prepare('DELETE FROM inbox WHERE instr(lower(body), ?) > 0');
  let n = 0;
  for (const v of person.values) if (v) n += del.run(v.toLowerCase()).changes;
  return n;
}

/** Checkpoint and truncate the WAL so it keeps no page image of what was deleted. True when it emptied. */
export async function truncateWal(db: Database.Database, tries = 20): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    if (r && r.busy === 0) return true;
    // A reader in another process holds an old snapshot: wait for it to move on.
    await new Promise((res) => setTimeout(res, 50 * (i + 1)));
  }
  return false;
}

/** Replace every search value in a text with a marker, so an error kept in the log names no one. */
export function scrub(text: string, values: string[]): string {
  let out = text;
  for (const v of values) if (v.length >= 3) out = out.split(v).join('[forgotten]');
  return out;
}

export class SqlitePrivacyLedger implements PrivacyLedger {
  constructor(
    private readonly db: Database.Database,
    /** Run a write, waiting while another process holds the write lock (a sync's batch). */
    private readonly write: <T>(fn: () => T) => Promise<T>,
  ) {}

  async forget(input: ForgetInput): Promise<ForgetResult> {
    const at = input.at ?? new Date().toISOString();
    const result = await this.write(() => this.db.transaction(() => this.forgetInTransaction(input, at)).immediate());
    const walTruncated = await truncateWal(this.db);
    return { ...result, walTruncated };
  }

  private forgetInTransaction(input: ForgetInput, at: string): Omit<ForgetResult, 'walTruncated'> {
    const db = this.db;
    // Identifiers, presented rows and profiles go: every process's graph cache must load again.
    bumpGraphGeneration(db);
    const counts: ForgetCounts = {};
    const add = (table: string, n: number) => {
      if (n) counts[table] = (counts[table] ?? 0) + n;
    };
    // Resolved again inside the transaction: a sync may have merged a profile away, or stored the person anew, since the caller looked.
    const ids = [...new Set(input.profileIds.map((id) => (db.prepare('SELECT profile_id FROM aliases WHERE alias = ?').pluck().get(id) as string | undefined) ?? id))];
    if (input.kind === 'forget') {
      for (const k of input.suppressKeys) {
        const owner = db.prepare('SELECT profile_id FROM identifiers WHERE key = ?').pluck().get(k) as string | undefined;
        if (owner && !ids.includes(owner)) ids.push(owner);
      }
    }
    // Absorbed ids that now point at these profiles: destinations may still hold them under that id.
    const absorbed = ids.flatMap((id) => db.prepare('SELECT alias FROM aliases WHERE profile_id = ?').pluck().all(id) as string[]);
    const allIds = [...new Set([...ids, ...absorbed])];
    const keys = new Set<string>(input.suppressKeys);
    for (const id of ids) for (const k of db.prepare('SELECT key FROM identifiers WHERE profile_id = ?').pluck().all(id) as string[]) keys.add(k);
    const recordKeys: string[] = [];
    // What to look for in dead letters and error texts: every identifier value, as stored and as the source wrote it.
    const values = new Set<string>();
    for (const k of keys) values.add(parseIdentifierKey(k).value);
    for (const id of ids) {
      for (const r of db.prepare('SELECT key, body FROM records WHERE profile_id = ?').all(id) as Row[]) {
        recordKeys.push(r.key as string);
        for (const i of identifiersOfBody(r.body as string)) {
          values.add(i.value);
          if (i.raw) values.add(String(i.raw).trim());
        }
      }
    }
    const search = [...values].filter((v) => v.length >= MIN_SEARCH_LENGTH);

    const request = Number(
      db.prepare('INSERT INTO privacy_requests(kind, at, reason, outcome, counts) VALUES (?, ?, ?, ?, ?)')
        .run(input.kind, at, input.reason ?? null, 'pending', '{}').lastInsertRowid,
    );

    // Destinations that hold the person: a delete to send, addressed by what they acknowledged.
    const deletes: ForgetResult['deletes'] = [];
    if (input.kind === 'forget') {
      const held = db.prepare('SELECT destination, ref FROM delivered WHERE profile_id = ?');
      const queue = db.prepare('INSERT OR IGNORE INTO forget_deletes(request_id, destination, profile_id, ref, status, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
      for (const id of allIds) {
        for (const r of held.all(id) as Row[]) {
          queue.run(request, r.destination, id, r.ref, 'pending', at);
          deletes.push({ destination: r.destination as string, profileId: id });
        }
        add('delivered', db.prepare('DELETE FROM delivered WHERE profile_id = ?').run(id).changes);
        add('outbox', db.prepare('DELETE FROM outbox WHERE profile_id = ?').run(id).changes);
        add('delivery_failures', db.prepare('DELETE FROM delivery_failures WHERE item = ?').run(id).changes);
        add('dead_letters', db.prepare('DELETE FROM dead_letters WHERE record_id = ?').run(id).changes);
        add('merges', db.prepare('DELETE FROM merges WHERE survivor = ? OR absorbed = ?').run(id, id).changes);
        add('refused', db.prepare('DELETE FROM refused WHERE instr(profiles, ?) > 0').run(JSON.stringify(id)).changes);
        add('presented', db.prepare('DELETE FROM presented WHERE profile_id = ?').run(id).changes);
        add('aliases', db.prepare('DELETE FROM aliases WHERE profile_id = ? OR alias = ?').run(id, id).changes);
      }
      for (const k of recordKeys) {
        add('refused', db.prepare('DELETE FROM refused WHERE record_key = ?').run(k).changes);
        add('event_retry', db.prepare('DELETE FROM event_retry WHERE record_key = ?').run(k).changes);
        add('consent_statements', db.prepare('DELETE FROM consent_statements WHERE record_key = ?').run(k).changes);
        // Blocking keys are derived from the person's traits (a date of birth, a surname code): they go too.
        add('blocking_keys', db.prepare('DELETE FROM blocking_keys WHERE record_key = ?').run(k).changes);
        add('probabilistic_links', db.prepare('DELETE FROM probabilistic_links WHERE record_key = ? OR other_record_key = ?').run(k, k).changes);
        add('delivery_failures', db.prepare('DELETE FROM delivery_failures WHERE item = ?').run(k).changes);
        add('dead_letters', db.prepare('DELETE FROM dead_letters WHERE record_id = ?').run(k).changes);
      }
      for (const k of keys) {
        // Another profile's refused claim on the person's address names the address.
        add('presented', db.prepare('DELETE FROM presented WHERE identifier_key = ?').run(k).changes);
        add('refused', db.prepare('DELETE FROM refused WHERE identifier_key = ?').run(k).changes);
      }
      for (const id of ids) {
        // Field warnings live in the record bodies, computed traits and aggregates in the profile body.
        add('records', db.prepare('DELETE FROM records WHERE profile_id = ?').run(id).changes);
        add('identifiers', db.prepare('DELETE FROM identifiers WHERE profile_id = ?').run(id).changes);
        add('profiles', db.prepare('DELETE FROM profiles WHERE id = ?').run(id).changes);
      }
      add('inbox', forgetPushedData(db, { values: search, profileIds: allIds }));
    }
    // Dead letters carry raw payloads (a row that failed mapping, a refused upsert): search them for the person.
    for (const v of search) add('dead_letters', db.prepare('DELETE FROM dead_letters WHERE instr(lower(payload), ?) > 0').run(v.toLowerCase()).changes);
    for (const v of search) {
      add('run_errors_scrubbed', db.prepare("UPDATE runs SET error = replace(error, ?, '[forgotten]') WHERE instr(error, ?) > 0").run(v, v).changes);
      db.prepare("UPDATE destinations SET last_run = replace(last_run, ?, '[forgotten]') WHERE instr(last_run, ?) > 0").run(v, v);
    }

    const salt = suppressionSalt(db);
    const put = db.prepare('INSERT OR IGNORE INTO suppressions(hash, type, request_id, at) VALUES (?, ?, ?, ?)');
    let suppressed = 0;
    for (const k of keys) suppressed += put.run(suppressionHash(salt, k), parseIdentifierKey(k).type, request, at).changes;

    const outcome: PrivacyOutcome = deletes.length ? 'pending' : input.kind === 'forget' && !ids.length ? 'nothing held' : 'completed';
    db.prepare('UPDATE privacy_requests SET outcome = ?, counts = ?, finished_at = ? WHERE id = ?').run(
      outcome,
      JSON.stringify({ ...counts, suppressed, destinations: deletes.length }),
      outcome === 'pending' ? null : at,
      request,
    );
    return { requestId: request, counts, suppressed, deletes };
  }

  async unsuppress(keys: string[], reason?: string, request?: number): Promise<{ requestId: number; removed: number }> {
    const at = new Date().toISOString();
    return this.write(() =>
      this.db.transaction(() => {
        const salt = suppressionSalt(this.db);
        let removed = 0;
        for (const k of keys) removed += this.db.prepare('DELETE FROM suppressions WHERE hash = ?').run(suppressionHash(salt, k)).changes;
        if (request !== undefined) removed += this.db.prepare('DELETE FROM suppressions WHERE request_id = ?').run(request).changes;
        const requestId = Number(
          this.db.prepare('INSERT INTO privacy_requests(kind, at, reason, outcome, counts, finished_at) VALUES (?, ?, ?, ?, ?, ?)')
            .run('unsuppress', at, reason ?? null, 'completed', JSON.stringify({ unsuppressed: removed }), at).lastInsertRowid,
        );
        return { requestId, removed };
      }).immediate(),
    );
  }

  async profilesHolding(keys: string[]): Promise<string[]> {
    const out = new Set<string>();
    for (const k of keys) {
      for (const id of this.db.prepare('SELECT profile_id FROM identifiers WHERE key = ? UNION SELECT profile_id FROM presented WHERE identifier_key = ?').pluck().all(k, k) as string[]) out.add(id);
    }
    return [...out].sort();
  }

  async subjectHoldings(profileIds: string[], values: string[]) {
    const delivered = profileIds.flatMap((id) =>
      (this.db.prepare('SELECT destination, ref, at FROM delivered WHERE profile_id = ? ORDER BY destination').all(id) as Row[]).map((r) => ({ destination: r.destination as string, ref: r.ref as string, at: r.at as string })),
    );
    const ids = new Set<number>();
    const deadLetters: unknown[] = [];
    const take = (rows: Row[]) => {
      for (const r of rows) {
        if (ids.has(Number(r.id))) continue;
        ids.add(Number(r.id));
        deadLetters.push({ id: Number(r.id), sync: r.sync, stream: r.stream, recordId: r.record_id, reason: r.reason, at: r.at, payload: JSON.parse(r.payload as string) });
      }
    };
    for (const id of profileIds) take(this.db.prepare('SELECT * FROM dead_letters WHERE record_id = ?').all(id) as Row[]);
    for (const v of values.filter((x) => x.length >= MIN_SEARCH_LENGTH)) take(this.db.prepare('SELECT * FROM dead_letters WHERE instr(lower(payload), ?) > 0').all(v.toLowerCase()) as Row[]);
    return { delivered, deadLetters };
  }

  async expireTrackRecords(opts: { source: string; stream: string; before: string; maxSeq: number; keepProperties: string[]; dryRun: boolean }): Promise<number> {
    const where = "source = ? AND stream = ? AND kind = 'track' AND observed_at < ? AND seq <= ? AND json_extract(body, '$.expiredAt') IS NULL";
    const args = [opts.source, opts.stream, opts.before, opts.maxSeq];
    if (opts.dryRun) return Number(this.db.prepare(`SELECT COUNT(*) FROM records WHERE ${where}`).pluck().get(...args));
    const at = new Date().toISOString();
    return this.write(() =>
      this.db.transaction(() => {
        const rows = this.db.prepare(`SELECT key, ${RECORD_COLUMNS} FROM records WHERE ${where}`).all(...args) as Row[];
        const put = this.db.prepare('UPDATE records SET body = ? WHERE key = ?');
        for (const r of rows) put.run(encodeRecord(expiredRecord(decodeRecord(r), opts.keepProperties, at)), r.key);
        return rows.length;
      }).immediate(),
    );
  }

  async hasSuppressions(): Promise<boolean> {
    return !!this.db.prepare('SELECT 1 FROM suppressions LIMIT 1').get();
  }

  async suppressedAmong(keys: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    if (!keys.length || !this.db.prepare('SELECT 1 FROM suppressions LIMIT 1').get()) return out;
    const salt = this.db.prepare("SELECT value FROM meta WHERE key = 'suppression_salt'").pluck().get() as string | undefined;
    if (!salt) return out;
    const has = this.db.prepare('SELECT 1 FROM suppressions WHERE hash = ?').pluck();
    for (const k of keys) if (has.get(suppressionHash(salt, k))) out.add(k);
    return out;
  }

  async pendingDeletes(destination: string, limit: number): Promise<ForgetDelete[]> {
    // A delivery that read a profile before it was forgotten and settled after put it back in `delivered`
    // (and at the destination): that row is the person again, so the delete is queued once more.
    const late = this.db
      .prepare(
        `SELECT d.profile_id, d.ref, MAX(f.request_id) AS request_id FROM delivered d JOIN forget_deletes f ON f.destination = d.destination AND f.profile_id = d.profile_id
         WHERE d.destination = ? AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = d.profile_id) GROUP BY d.profile_id, d.ref`,
      )
      .all(destination) as Row[];
    if (late.length) {
      await this.write(() =>
        this.db.transaction(() => {
          const at = new Date().toISOString();
          for (const r of late) {
            this.db.prepare("UPDATE forget_deletes SET ref = ?, status = 'pending', updated_at = ? WHERE request_id = ? AND destination = ? AND profile_id = ?").run(r.ref, at, r.request_id, destination, r.profile_id);
            this.db.prepare("UPDATE privacy_requests SET outcome = 'pending', finished_at = NULL WHERE id = ?").run(r.request_id);
            this.db.prepare('DELETE FROM delivered WHERE destination = ? AND profile_id = ?').run(destination, r.profile_id);
          }
        })(),
      );
    }
    const rows = this.db
      .prepare("SELECT request_id, profile_id, ref FROM forget_deletes WHERE destination = ? AND status = 'pending' ORDER BY request_id, profile_id LIMIT ?")
      .all(destination, limit) as Row[];
    return rows.map((r) => ({ requestId: Number(r.request_id), destination, profileId: r.profile_id as string, ref: r.ref as string }));
  }

  async settleDeletes(destination: string, outcomes: ForgetDeleteOutcome[]): Promise<void> {
    if (!outcomes.length) return;
    const at = new Date().toISOString();
    const dropped = await this.write(() =>
      this.db.transaction(() => {
        let n = 0;
        const requests = new Set<number>();
        for (const o of outcomes) {
          requests.add(o.requestId);
          const ref = this.db.prepare('SELECT ref FROM forget_deletes WHERE request_id = ? AND destination = ? AND profile_id = ?').pluck().get(o.requestId, destination, o.profileId) as string | null;
          const error = o.error && ref ? scrub(o.error, refValues(ref)) : o.error;
          // Done: the ref (the only personal data left) goes. Refused or unsupported: it stays, so the record can be deleted by hand.
          const keepRef = o.status !== 'done';
          this.db
            .prepare(`UPDATE forget_deletes SET status = ?, attempts = attempts + 1, error = ?, updated_at = ?${keepRef ? '' : ', ref = NULL'} WHERE request_id = ? AND destination = ? AND profile_id = ?`)
            .run(o.status, error ?? null, at, o.requestId, destination, o.profileId);
          if (!keepRef) n++;
        }
        for (const id of requests) this.finishRequest(id, at);
        return n;
      })(),
    );
    if (dropped) await truncateWal(this.db);
  }

  /** A request whose deletes are all settled gets its outcome. */
  private finishRequest(id: number, at: string): void {
    const statuses = this.db.prepare('SELECT status FROM forget_deletes WHERE request_id = ?').pluck().all(id) as DeleteStatus[];
    if (statuses.includes('pending')) return;
    const outcome: PrivacyOutcome = statuses.every((s) => s === 'done') ? 'completed' : 'partial';
    this.db.prepare("UPDATE privacy_requests SET outcome = ?, finished_at = ? WHERE id = ? AND outcome = 'pending'").run(outcome, at, id);
  }

  async requests(opts: { id?: number; limit: number }): Promise<PrivacyRequest[]> {
    const rows = (
      opts.id !== undefined
        ? this.db.prepare('SELECT * FROM privacy_requests WHERE id = ?').all(opts.id)
        : this.db.prepare('SELECT * FROM privacy_requests ORDER BY id DESC LIMIT ?').all(opts.limit)
    ) as Row[];
    const dests = this.db.prepare('SELECT destination, profile_id, status, attempts, error, updated_at FROM forget_deletes WHERE request_id = ? ORDER BY destination, profile_id');
    return rows.map((r) => ({
      id: Number(r.id),
      kind: r.kind as PrivacyRequestKind,
      at: r.at as string,
      ...(r.reason ? { reason: r.reason as string } : {}),
      outcome: r.outcome as PrivacyOutcome,
      counts: JSON.parse(r.counts as string) as ForgetCounts,
      ...(r.finished_at ? { finishedAt: r.finished_at as string } : {}),
      destinations: (dests.all(r.id) as Row[]).map((d) => ({
        destination: d.destination as string,
        profileId: d.profile_id as string,
        status: d.status as DeleteStatus,
        attempts: Number(d.attempts),
        ...(d.error ? { error: d.error as string } : {}),
        updatedAt: d.updated_at as string,
      })),
    }));
  }
}

/**
 * What retention leaves of a track record: what the profile is built from
 * (identifiers as normalized, traits, consent, the event's name, revenue,
 * currency and the properties computed traits read), so a profile recomputed
 * from its records (a re-read, a rebuild) still counts it; the other event
 * properties, the values as the source wrote them and field warnings go.
 */
export function expiredRecord(r: CanonicalRecord, keepProperties: string[], at: string): CanonicalRecord & { expiredAt: string } {
  const out: CanonicalRecord & { expiredAt: string } = {
    kind: r.kind,
    source: r.source,
    stream: r.stream,
    recordId: r.recordId,
    observedAt: r.observedAt,
    identifiers: r.identifiers.map((i) => (i.namespace ? { type: i.type, value: i.value, namespace: i.namespace } : { type: i.type, value: i.value })),
    traits: r.traits,
    expiredAt: at,
  };
  if (r.consent) out.consent = r.consent;
  if (r.event) {
    const properties = Object.fromEntries(Object.entries(r.event.properties).filter(([k]) => keepProperties.includes(k)));
    out.event = { name: r.event.name, properties, ...(r.event.revenue !== undefined ? { revenue: r.event.revenue } : {}), ...(r.event.currency !== undefined ? { currency: r.event.currency } : {}) };
  }
  return out;
}

/** A ref and the value inside it (`email:ada@x.org` and `ada@x.org`), to scrub from error texts. */
function refValues(ref: string): string[] {
  const colon = ref.indexOf(':');
  return colon > 0 ? [ref, ref.slice(colon + 1)] : [ref];
}
