import type { ProfileDocument, StreamState } from '../../plugin/types.js';
import type { ProbabilisticLink, ProfileState, StoredMatchModel, StoredRecord } from '../../resolution/types.js';
import { fault } from '../../util/fault-points.js';
import type {
  AbandonedRunPolicy,
  BatchCommit,
  DeadLetter,
  DeadLetterInput,
  FieldWarningGroup,
  FieldWarningQuery,
  FinishedStatus,
  OutboxEntry,
  ProfileExplanation,
  ProfileStore,
  RefusalRow,
  ResolutionSnapshot,
  RunRecord,
  RunSummary,
} from '../types.js';
import { PgConn, type PgStoreOptions } from './pg-conn.js';
import { CORE_PG_SCHEMA_SQL, migratePg } from './pg-schema.js';
import * as graph from './pg-graph.js';
import { commitBatchPg, insertDeadLetters, type CommitHooks } from './pg-commit.js';
import { PgRuns } from './pg-runs.js';
import * as docs from './pg-docs.js';
import { ackOutbox, pendingOutbox } from './pg-outbox.js';
import { DELIVERY_PG_SCHEMA_SQL, PgDeliveryLedger } from './pg-delivery.js';
import { CONSENT_PG_SCHEMA_SQL, explainConsent, insertConsentStatements } from './pg-consent.js';
import { INBOX_PG_SCHEMA_SQL, PgInboxReader } from './pg-inbox.js';
import { LOCK_RESOLVE_PREFIX, PRIVACY_PG_SCHEMA_SQL, PgPrivacyLedger, lockResolve } from './pg-privacy.js';
import { explainProfile } from './pg-explain.js';
import { listRefusals } from './pg-refusals.js';
import { fieldWarnings } from './pg-warnings.js';
import { dumpResolution, iterateRecords, listDeadLetters, replaceResolution } from './pg-snapshot.js';
import * as blocking from './pg-blocking.js';

export type { PgStoreOptions } from './pg-conn.js';

/**
 * The resolve lock: `pg_advisory_xact_lock(hashtextextended(LOCK_RESOLVE || current_schema(), 0))`.
 * The key holds the schema, so stores in different schemas of one database do not wait for each other.
 * A forget (pg-forget.ts) and a rebuild take the same lock.
 */
export const LOCK_RESOLVE = LOCK_RESOLVE_PREFIX;

/**
 * The PostgreSQL store: the SQLite store's tables and semantics, shared by any
 * number of workers. Concurrency: `exclusive` (read the graph, resolve, commit
 * one batch) runs in one transaction holding a transaction-scoped advisory lock
 * for the store's schema, so resolution is serialised across every worker
 * (docs/scaling.md, "PostgreSQL store: one resolve lock"); reading, parsing,
 * mapping and delivery run in parallel.
 */
export class PgStore implements ProfileStore {
  readonly conn: PgConn;
  private readonly runs: PgRuns;
  private readonly hooks: CommitHooks;
  readonly delivery: PgDeliveryLedger;
  readonly privacy: PgPrivacyLedger;
  readonly inbox: PgInboxReader;

  constructor(opts: PgStoreOptions) {
    this.conn = new PgConn(opts);
    const conn = this.conn;
    this.runs = new PgRuns(conn);
    this.delivery = new PgDeliveryLedger(conn, { insertDeadLetter: (dl, at) => insertDeadLetters(conn, [dl], at) });
    this.privacy = new PgPrivacyLedger(conn);
    this.inbox = new PgInboxReader(conn);
    this.hooks = {
      consent: (records, at) => insertConsentStatements(conn, records, at),
      blockingKeys: (entries) => blocking.saveBlockingKeys(conn, entries),
      probabilisticLinks: (links) => blocking.saveProbabilisticLinks(conn, links),
    };
  }

  /** Opens the store and creates or migrates its tables (under the migration lock) before first use. */
  static async open(opts: PgStoreOptions): Promise<PgStore> {
    const store = new PgStore(opts);
    try {
      await migratePg(store.conn, PgStore.schemaParts());
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
    return store;
  }

  /** Every concern's DDL, core first. */
  static schemaParts(): string[] {
    return [CORE_PG_SCHEMA_SQL, DELIVERY_PG_SCHEMA_SQL, CONSENT_PG_SCHEMA_SQL, PRIVACY_PG_SCHEMA_SQL, INBOX_PG_SCHEMA_SQL, blocking.BLOCKING_PG_SCHEMA_SQL];
  }

  lookupIdentifiers(keys: string[]): Promise<Map<string, string>> {
    return graph.lookupIdentifiers(this.conn, keys);
  }

  getProfiles(ids: string[]): Promise<Map<string, ProfileState>> {
    return graph.getProfiles(this.conn, ids);
  }

  recordsOfProfiles(ids: string[]): Promise<StoredRecord[]> {
    return graph.recordsOfProfiles(this.conn, ids);
  }

  existingRecords(keys: string[]): Promise<Map<string, StoredRecord>> {
    return graph.existingRecords(this.conn, keys);
  }

  presentedBy(keys: string[]): Promise<Map<string, number>> {
    return graph.presentedBy(this.conn, keys);
  }

  presentersOf(keys: string[], limit: number): Promise<Map<string, string[]>> {
    return graph.presentersOf(this.conn, keys, limit);
  }

  candidatesByBlockingKey(keys: string[], perKey: number): Promise<Map<string, StoredRecord[]>> {
    return blocking.candidatesByBlockingKey(this.conn, keys, perKey);
  }

  latestMatchModel(resolver: string): Promise<StoredMatchModel | undefined> {
    return blocking.latestMatchModel(this.conn, resolver);
  }

  saveMatchModel(resolver: string, trainedAt: string, body: (version: number) => string): Promise<number> {
    return blocking.saveMatchModel(this.conn, resolver, trainedAt, body);
  }

  saveBlockingKeys(entries: Array<[string, string[]]>): Promise<void> {
    return this.conn.tx(() => blocking.saveBlockingKeys(this.conn, entries));
  }

  probabilisticLinksOfProfile(profileId: string): Promise<ProbabilisticLink[]> {
    return blocking.probabilisticLinksOfProfile(this.conn, profileId);
  }

  allProbabilisticLinks(): Promise<ProbabilisticLink[]> {
    return blocking.allProbabilisticLinks(this.conn);
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = await this.conn.tx(async () => {
      await lockResolve(this.conn);
      const r = await fn();
      fault('pgcommit.inside');
      return r;
    });
    fault('pgcommit.after');
    return result;
  }

  async loadState(sync: string): Promise<Record<string, StreamState>> {
    const rows = await this.conn.q<{ stream: string; state: string }>('SELECT stream, state FROM state WHERE sync = $1', [sync]);
    return Object.fromEntries(rows.map((r) => [r.stream, JSON.parse(r.state) as StreamState]));
  }

  commitBatch(batch: BatchCommit): Promise<void> {
    return commitBatchPg(this.conn, batch, this.hooks);
  }

  addDeadLetters(items: DeadLetterInput[]): Promise<void> {
    return insertDeadLetters(this.conn, items, new Date().toISOString());
  }

  startRun(name: string, kind: RunRecord['kind']): Promise<number> {
    return this.runs.start(name, kind);
  }

  updateRun(id: number, summary?: RunSummary): Promise<void> {
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

  resolveProfileId(idOrAlias: string): Promise<string | undefined> {
    return docs.resolveProfileId(this.conn, idOrAlias);
  }

  profileDocument(id: string): Promise<ProfileDocument | undefined> {
    return docs.profileDocument(this.conn, id);
  }

  iterateProfiles(batchSize: number): AsyncIterable<ProfileDocument[]> {
    return docs.iterateProfiles(this.conn, batchSize);
  }

  countProfiles(): Promise<number> {
    return docs.countProfiles(this.conn);
  }

  pendingOutbox(destination: string, limit: number, afterSeq?: number): Promise<OutboxEntry[]> {
    return pendingOutbox(this.conn, destination, limit, afterSeq);
  }

  ackOutbox(destination: string, entries: OutboxEntry[]): Promise<void> {
    return ackOutbox(this.conn, destination, entries);
  }

  async explain(profileId: string): Promise<ProfileExplanation> {
    const records = await this.recordsOfProfiles([profileId]);
    return { ...(await explainProfile(this.conn, profileId, records)), consent: await explainConsent(this.conn, profileId) };
  }

  listRefusals(limit: number): Promise<{ refusals: RefusalRow[]; total: number }> {
    return listRefusals(this.conn, limit);
  }

  listDeadLetters(opts: { limit: number; sync?: string }): Promise<DeadLetter[]> {
    return listDeadLetters(this.conn, opts);
  }

  fieldWarnings(q: FieldWarningQuery): Promise<{ groups: FieldWarningGroup[]; total: number }> {
    return fieldWarnings(this.conn, q);
  }

  iterateRecords(batchSize: number): AsyncIterable<StoredRecord[]> {
    return iterateRecords(this.conn, batchSize);
  }

  replaceResolution(r: ResolutionSnapshot, destinations: string[]): Promise<void> {
    return replaceResolution(this.conn, r, destinations);
  }

  dumpResolution(): Promise<ResolutionSnapshot> {
    return dumpResolution(this.conn);
  }

  private closed?: Promise<void>;

  close(): Promise<void> {
    return (this.closed ??= this.conn.close());
  }
}
