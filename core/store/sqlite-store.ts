import type Database from 'better-sqlite3';
import type { ProfileDocument, StreamState } from '../plugin/types.js';
import { parseIdentifierKey, type Identifier } from '../schema/canonical.js';
import type { LinkDecision, ProbabilisticLink, ProfileState, StoredMatchModel, StoredRecord } from '../resolution/types.js';
import { DELIVERY_SCHEMA_SQL } from './sqlite-schema.js';
import { SqliteDeliveryLedger } from './sqlite-delivery.js';
import { explainProfile } from './sqlite-explain.js';
import { CONSENT_SCHEMA_SQL, explainConsent } from './sqlite-consent.js';
import { listRefusals } from './sqlite-refusals.js';
import { migrateStore } from './sqlite-migrate.js';
import { danglingReferences, dumpResolution, listDeadLetters, storeCounts } from './sqlite-snapshot.js';
import { FORGET_SCHEMA_SQL, SqlitePrivacyLedger } from './sqlite-forget.js';
import { INBOX_SCHEMA_SQL, SqliteInboxReader } from './sqlite-inbox.js';
import type {
  BatchCommit,
  DeadLetter,
  DeadLetterInput,
  FieldWarningGroup,
  FieldWarningQuery,
  OutboxEntry,
  ProfileExplanation,
  ProfileStore,
  AbandonedRunPolicy,
  FinishedStatus,
  RunRecord,
  RunSummary,
  ResolutionSnapshot,
  RefusalRow,
} from './types.js';
import { toProfileDocument } from './profile-document.js';
import { profileOfRow } from './profile-codec.js';
import * as blocking from './sqlite-blocking.js';
import { countFieldWarningGroups, queryFieldWarnings } from './sqlite-warnings.js';
import { fault } from '../util/fault-points.js';
import { LOCK_WAIT_MS, SqliteRuns, whenUnlocked } from './sqlite-runs.js';
import { CACHE_MB, openSqlite } from './sqlite-open.js';

export { CACHE_MB, COMMIT_THREAD_CACHE_MB } from './sqlite-open.js';
import { encodeBatch, writeBatch, type EncodedBatch } from './sqlite-commit.js';
import { decodeRecord, RECORD_COLUMNS } from './record-codec.js';
import { writeResolution } from './sqlite-replace.js';
import { CommitPipeline } from './commit-pipeline.js';
import { Statements, type StoreStatements } from './sqlite-statements.js';
import { GraphCacheSession, readGraphGeneration, type GraphCacheStats } from './graph-cache-session.js';

type Row = Record<string, unknown>;

/** The embedded store: one SQLite file, WAL journal, one transaction per batch. */

export class SqliteStore implements ProfileStore {
  private readonly db: Database.Database;
  private readonly stmts: StoreStatements;
  /** Outbox sequence, loaded from and saved to `meta` inside each write transaction, so processes sharing the file never reuse one. */
  readonly delivery: SqliteDeliveryLedger;
  readonly privacy: SqlitePrivacyLedger;
  readonly inbox: SqliteInboxReader;

  /** How long a write waits for the write lock another process holds (a `resolve --rebuild` holds it for its whole run). */
  private readonly lockWaitMs: number;
  private readonly runs: SqliteRuns;
  /** The identity graph in memory between batches (graph-cache.ts); undefined when turned off. */
  private readonly graph?: GraphCacheSession;
  private readonly commitThread: boolean;
  private pipeline?: CommitPipeline;

  constructor(
    private readonly file: string,
    /**
     * `graphCache: true` (or TRIB_GRAPH_CACHE=1) keeps the identity graph in memory between batches.
     * Off by default: measured, it did not lower CPU per record and raised peak RSS
     * (docs/benchmarks/pipeline-store-engine-graph.md, "Identity graph in memory").
     * `commitThread` (default on for a file, see below) writes the engine's batches on a thread (commit-pipeline.ts).
     */
    opts: { lockWaitMs?: number; graphCache?: boolean; commitThread?: boolean; cacheMb?: number } = {},
  ) {
    this.lockWaitMs = opts.lockWaitMs ?? LOCK_WAIT_MS;
    this.db = openSqlite(file, opts.cacheMb ?? CACHE_MB);
    migrateStore(this.db, file);
    this.db.exec(DELIVERY_SCHEMA_SQL);
    this.db.exec(CONSENT_SCHEMA_SQL);
    this.db.exec(FORGET_SCHEMA_SQL);
    this.db.exec(INBOX_SCHEMA_SQL);
    this.db.exec(blocking.BLOCKING_SCHEMA_SQL);
    this.stmts = Statements.prepare(this.db);
    this.runs = new SqliteRuns(this.db, (write) => this.whenUnlocked(write));
    this.inbox = new SqliteInboxReader(this.db, (write) => this.whenUnlocked(write));
    this.delivery = new SqliteDeliveryLedger(
      this.db,
      (dl, at) => this.insertDeadLetter(dl, at),
      (n) => {
        // Only called inside a ledger transaction: read, reserve and save in one go.
        const first = Number(this.stmts.readSeq.get() ?? 0) + 1;
        this.stmts.writeSeq.run(String(first + n - 1));
        return first;
      },
      (fn) => this.whenUnlocked(fn),
    );
    if (opts.graphCache ?? process.env.TRIB_GRAPH_CACHE === '1') this.graph = new GraphCacheSession(this.db);
    this.privacy = new SqlitePrivacyLedger(this.db, (fn) => this.whenUnlocked(fn));
    // On by default for a file (never for `:memory:`, which a second connection cannot share; nor with the graph cache).
    // Where the config does not say, TRIB_COMMIT_THREAD=0 turns it off (=1, or unset: on), e.g. for a whole test suite run.
    this.commitThread = (opts.commitThread ?? process.env.TRIB_COMMIT_THREAD !== '0') && file !== ':memory:' && !this.graph;
  }

  /**
   * The thread that commits the engine's batches while this one resolves the next
   * (commit-pipeline.ts), when the store was opened with `commitThread`; started on first use.
   */
  commitPipeline(): CommitPipeline | undefined {
    if (!this.commitThread) return undefined;
    this.pipeline ??= CommitPipeline.start(this.file, () => this.graphGeneration(), this.lockWaitMs);
    return this.pipeline;
  }

  /** What the in-memory graph did (loads, batches applied, reads answered), for tests and benchmarks. */
  graphCacheStats(): GraphCacheStats | undefined {
    return this.graph?.stats();
  }

  /** The identity graph's generation (graph-cache-session.ts), as this connection sees it now. */
  graphGeneration(): number {
    return readGraphGeneration(this.db);
  }

  /** The store's schema version, for tests and diagnostics. */
  schemaVersion(): number {
    return Number(this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get());
  }

  async lookupIdentifiers(keys: string[]): Promise<Map<string, string>> {
    const cached = this.graph?.ready();
    if (cached) return cached.lookup(keys);
    return inOrder(keys, new Map(this.stmts.identifiers.all(JSON.stringify(keys)) as Array<[string, string]>));
  }

  async getProfiles(ids: string[]): Promise<Map<string, ProfileState>> {
    const rows = this.stmts.profiles.all(JSON.stringify(ids)) as Row[];
    return inOrder(ids, new Map(rows.map((r) => [r.id as string, profileOfRow(r)])));
  }

  async recordsOfProfiles(ids: string[]): Promise<StoredRecord[]> {
    const out: StoredRecord[] = [];
    for (const id of ids) for (const row of this.stmts.recordsOfProfile.all(id) as Row[]) out.push(toStored(row));
    return out;
  }

  async existingRecords(keys: string[]): Promise<Map<string, StoredRecord>> {
    const rows = this.stmts.recordsByKey.all(JSON.stringify(keys)) as Row[];
    return inOrder(keys, new Map(rows.map((r) => [r.key as string, toStored(r)])));
  }

  async presentedBy(keys: string[]): Promise<Map<string, number>> {
    const cached = this.graph?.ready();
    if (cached) return cached.presentedCounts(keys);
    const rows = this.stmts.presentedCounts.all(JSON.stringify(keys)) as Array<[string, number]>;
    return inOrder(keys, new Map(rows.map(([k, n]) => [k, Number(n)])));
  }

  async presentersOf(keys: string[], limit: number): Promise<Map<string, string[]>> {
    const cached = this.graph?.ready();
    if (cached) return cached.presenters(keys, limit);
    const out = new Map<string, string[]>();
    for (const k of keys) {
      const ids = this.stmts.presenters.all(k, limit) as string[];
      if (ids.length) out.set(k, ids);
    }
    return out;
  }

  async candidatesByBlockingKey(keys: string[], perKey: number): Promise<Map<string, StoredRecord[]>> {
    return blocking.candidatesByBlockingKey(this.db, keys, perKey);
  }

  async latestMatchModel(resolver: string): Promise<StoredMatchModel | undefined> {
    return blocking.latestMatchModel(this.db, resolver);
  }

  async saveMatchModel(resolver: string, trainedAt: string, body: (version: number) => string): Promise<number> {
    return this.whenUnlocked(() => blocking.saveMatchModel(this.db, resolver, trainedAt, body));
  }

  async saveBlockingKeys(entries: Array<[string, string[]]>): Promise<void> {
    await this.whenUnlocked(() => this.db.transaction(() => blocking.saveBlockingKeys(this.db, entries))());
  }

  async probabilisticLinksOfProfile(profileId: string): Promise<ProbabilisticLink[]> {
    return blocking.probabilisticLinksOfProfile(this.db, profileId);
  }

  /** Every stored probabilistic link (a rebuild reads its scratch store's). */
  allProbabilisticLinks(): ProbabilisticLink[] {
    return blocking.allProbabilisticLinks(this.db);
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.whenUnlocked(() => this.db.exec('BEGIN IMMEDIATE'));
    this.graph?.beginExclusive();
    let committed = false;
    try {
      const result = await fn();
      fault('commit.inside');
      this.db.exec('COMMIT');
      committed = true;
      // The graph cache takes the batch's changes only now that they are durable.
      this.graph?.endExclusive(true);
      fault('commit.after');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      if (!committed) this.graph?.endExclusive(false);
      throw err;
    }
  }


  async loadState(sync: string): Promise<Record<string, StreamState>> {
    const rows = this.db.prepare('SELECT stream, state FROM state WHERE sync = ?').all(sync) as Row[];
    return Object.fromEntries(rows.map((r) => [r.stream as string, JSON.parse(r.state as string) as StreamState]));
  }

  async commitBatch(batch: BatchCommit): Promise<void> {
    const res = batch.resolution;
    const encoded = encodeBatch(batch, new Date().toISOString());
    fault('commit.before-transaction');
    const generation = await this.writeEncoded(encoded);
    this.graph?.batchWritten({ merges: res.merges, owners: res.identifierOwners, presented: res.presented, profiles: res.profiles }, generation);
  }

  /**
   * Write a batch encodeBatch made, in one transaction; returns the new graph generation. Inside
   * `exclusive` (the engine's batches, on the commit thread or not) it is written straight into that
   * transaction, which rolls back as a whole when anything fails: no savepoint. A savepoint makes SQLite
   * copy every page the batch touches to a statement journal first, a temporary file once it passes
   * 64 KiB: about 16% of the commit thread at 1M records (docs/benchmarks/pipeline-threads.md).
   */
  async writeEncoded(encoded: EncodedBatch): Promise<number> {
    if (this.db.inTransaction) return writeBatch(this.db, this.stmts, encoded);
    return this.whenUnlocked(() => this.db.transaction(() => writeBatch(this.db, this.stmts, encoded))());
  }

  private insertDeadLetter(dl: DeadLetterInput, at: string) {
    this.stmts.insertDeadLetter.run(dl.sync, dl.stream, dl.recordId ?? null, dl.origin ?? null, dl.reason, JSON.stringify(dl.payload ?? null), at);
  }

  async addDeadLetters(items: DeadLetterInput[]): Promise<void> {
    const at = new Date().toISOString();
    await this.whenUnlocked(() => this.db.transaction(() => items.forEach((d) => this.insertDeadLetter(d, at)))());
  }

  startRun(name: string, kind: RunRecord['kind']): Promise<number> {
    return this.runs.start(name, kind);
  }

  updateRun(id: number, summary?: RunSummary): Promise<void> {
    if (this.pipeline?.depth) return this.pipeline.updateRun(id, summary);
    return this.runs.update(id, summary);
  }

  finishRun(id: number, status: FinishedStatus, summary: RunSummary | undefined, error?: string): Promise<void> {
    return this.runs.finish(id, status, summary, error);
  }

  interruptAbandonedRuns(policy: AbandonedRunPolicy): Promise<RunRecord[]> {
    return this.runs.interruptAbandoned(policy);
  }

  recentRuns(limit: number): Promise<RunRecord[]> {
    return this.runs.recent(limit);
  }

  private whenUnlocked<T>(write: () => T): Promise<T> {
    return whenUnlocked(this.db, { file: this.file, waitMs: this.lockWaitMs }, write);
  }

  async resolveProfileId(idOrAlias: string): Promise<string | undefined> {
    if (this.stmts.profile.get(idOrAlias) !== undefined) return idOrAlias;
    return (this.stmts.alias.get(idOrAlias) as string | undefined) ?? undefined;
  }

  private document(state: ProfileState): ProfileDocument {
    const records = this.db.prepare('SELECT source, stream, record_id FROM records WHERE profile_id = ? ORDER BY seq').all(state.id) as Row[];
    const aliases = this.db.prepare('SELECT alias FROM aliases WHERE profile_id = ? ORDER BY alias').pluck().all(state.id) as string[];
    return toProfileDocument(
      state,
      records.map((r) => ({ source: r.source as string, stream: r.stream as string, recordId: r.record_id as string })),
      aliases,
    );
  }

  async profileDocument(id: string): Promise<ProfileDocument | undefined> {
    const row = this.stmts.profile.get(id) as Row | undefined;
    return row === undefined ? undefined : this.document(profileOfRow(row));
  }

  async *iterateProfiles(batchSize: number): AsyncIterable<ProfileDocument[]> {
    const page = this.db.prepare('SELECT id, created_at, updated_at, body FROM profiles WHERE id > ? ORDER BY id LIMIT ?');
    let after = '';
    for (;;) {
      const rows = page.all(after, batchSize) as Row[];
      if (!rows.length) return;
      const states = rows.map(profileOfRow);
      after = states[states.length - 1].id;
      yield states.map((s) => this.document(s));
    }
  }

  async listRefusals(limit: number): Promise<{ refusals: RefusalRow[]; total: number }> {
    return listRefusals(this.db, limit);
  }

  async countProfiles(): Promise<number> {
    return Number(this.db.prepare('SELECT COUNT(*) FROM profiles').pluck().get());
  }

  async explain(profileId: string): Promise<ProfileExplanation> {
    return { ...explainProfile(this.db, profileId, await this.recordsOfProfiles([profileId])), consent: explainConsent(this.db, profileId) };
  }

  async pendingOutbox(destination: string, limit: number, afterSeq = 0): Promise<OutboxEntry[]> {
    const rows = this.db
      .prepare('SELECT profile_id, seq, merged_from FROM outbox WHERE destination = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(destination, afterSeq, limit) as Row[];
    return rows.map((r) => ({ profileId: r.profile_id as string, seq: Number(r.seq), mergedFrom: JSON.parse(r.merged_from as string) as string[] }));
  }

  async ackOutbox(destination: string, entries: OutboxEntry[]): Promise<void> {
    // Deleting by (profile, seq) keeps an entry that a sync re-queued meanwhile.
    await this.whenUnlocked(() => this.db.transaction(() => entries.forEach((e) => this.stmts.outboxAck.run(destination, e.profileId, e.seq)))());
  }

  async listDeadLetters(opts: { limit: number; sync?: string }): Promise<DeadLetter[]> {
    return listDeadLetters(this.db, opts);
  }

  async fieldWarnings(q: FieldWarningQuery): Promise<{ groups: FieldWarningGroup[]; total: number }> {
    return { groups: queryFieldWarnings(this.db, q), total: countFieldWarningGroups(this.db, q) };
  }

  async *iterateRecords(batchSize: number): AsyncIterable<StoredRecord[]> {
    const page = this.db.prepare(`SELECT seq, profile_id, ${RECORD_COLUMNS} FROM records WHERE seq > ? ORDER BY seq LIMIT ?`);
    let after = 0;
    for (;;) {
      const rows = page.all(after, batchSize) as Row[];
      if (!rows.length) return;
      after = Number(rows[rows.length - 1].seq);
      yield rows.map(toStored);
    }
  }

  async dumpResolution(): Promise<ResolutionSnapshot> {
    return dumpResolution(this.db);
  }

  async replaceResolution(r: ResolutionSnapshot, destinations: string[]): Promise<void> {
    await this.whenUnlocked(() => this.db.transaction(() => {
      writeResolution(this.db, this.stmts, r, destinations, Number(this.stmts.readSeq.get() ?? 0));
    })());
    // Not replayed: dropped (inside an exclusive, reads go to SQL until it ends).
    this.graph?.invalidate();
  }

  async close(): Promise<void> {
    // The in-memory graph goes with the connection (a closed store may stay referenced).
    this.graph?.invalidate();
    await this.pipeline?.close();
    if (this.db.open) this.db.close();
  }

  /** Identifier keys a profile owns, for `explain` and tests. */
  identifiersOf(profileId: string): Array<ReturnType<typeof parseIdentifierKey>> {
    const keys = this.db.prepare('SELECT key FROM identifiers WHERE profile_id = ? ORDER BY key').pluck().all(profileId) as string[];
    return keys.map(parseIdentifierKey);
  }

  /** Rows that point at a profile that does not exist: always empty in a healthy store. */
  danglingReferences(): string[] {
    return danglingReferences(this.db);
  }

  /** Whole-store counts, for tests and the run summary. */
  counts(): Record<string, number> {
    return storeCounts(this.db);
  }
}

/** The found entries in the order their keys were asked for, as the one-key-at-a-time reads gave them. */
function inOrder<V>(keys: string[], found: Map<string, V>): Map<string, V> {
  const out = new Map<string, V>();
  for (const k of keys) {
    const v = found.get(k);
    if (v !== undefined) out.set(k, v);
  }
  return out;
}

function toStored(row: Row): StoredRecord {
  return { ...decodeRecord(row), profileId: row.profile_id as string };
}
