import type { ProfileDocument, StreamState } from '../../plugin/types.js';
import type { ProfileState, StoredRecord } from '../../resolution/types.js';
import type { PrivacyLedger } from '../../privacy/forget-types.js';
import { fault } from '../../util/fault-points.js';
import type {
  AbandonedRunPolicy,
  BatchCommit,
  DeadLetter,
  DeadLetterInput,
  DeliveryLedger,
  FieldWarningGroup,
  FieldWarningQuery,
  FinishedStatus,
  OutboxEntry,
  ProfileExplanation,
  ProfileStore,
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

export type { PgStoreOptions } from './pg-conn.js';

/** The name of the resolve lock; the key also holds the schema, so stores in different schemas of one database do not wait for each other. */
export const LOCK_RESOLVE = 'tributary:resolve:';

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
  private readonly hooks: CommitHooks = {};
  readonly delivery: DeliveryLedger;
  readonly privacy: PrivacyLedger;

  constructor(opts: PgStoreOptions) {
    this.conn = new PgConn(opts);
    this.runs = new PgRuns(this.conn);
    this.delivery = notWired<DeliveryLedger>('delivery');
    this.privacy = notWired<PrivacyLedger>('privacy');
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
    return [CORE_PG_SCHEMA_SQL];
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

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = await this.conn.tx(async () => {
      await this.conn.q('SELECT pg_advisory_xact_lock(hashtextextended($1 || current_schema(), 0))', [LOCK_RESOLVE]);
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

  async explain(_profileId: string): Promise<ProfileExplanation> {
    throw notWiredError('explain');
  }

  async listDeadLetters(_opts: { limit: number; sync?: string }): Promise<DeadLetter[]> {
    throw notWiredError('listDeadLetters');
  }

  async fieldWarnings(_q: FieldWarningQuery): Promise<{ groups: FieldWarningGroup[]; total: number }> {
    throw notWiredError('fieldWarnings');
  }

  // eslint-disable-next-line require-yield
  async *iterateRecords(_batchSize: number): AsyncIterable<StoredRecord[]> {
    throw notWiredError('iterateRecords');
  }

  async replaceResolution(_r: ResolutionSnapshot, _destinations: string[]): Promise<void> {
    throw notWiredError('replaceResolution');
  }

  async dumpResolution(): Promise<ResolutionSnapshot> {
    throw notWiredError('dumpResolution');
  }

  private closed?: Promise<void>;

  close(): Promise<void> {
    return (this.closed ??= this.conn.close());
  }
}

function notWiredError(what: string): Error {
  return new Error(`the PostgreSQL store has no ${what} yet (comes with the pgread/pgledgers merge)`);
}

function notWired<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: (_t, prop) => (typeof prop === 'string' && prop !== 'then' ? () => Promise.reject(notWiredError(`${what}.${prop}`)) : undefined),
  });
}
