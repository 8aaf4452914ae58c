import type { CommitPipeline } from './commit-pipeline.js';
import type { ProfileDocument, StreamState } from '../plugin/types.js';
import type { CanonicalRecord } from '../schema/canonical.js';
import type { PrivacyLedger } from '../privacy/forget-types.js';
import type { IdentityGraph, MergeEvent, ProfileState, RefusedMerge, ResolutionResult, StoredRecord, LinkDecision, ProbabilisticLink } from '../resolution/types.js';
import type { InboxReader } from '../serve/contract.js';

export interface DeadLetterInput {
  sync: string;
  stream: string;
  recordId?: string;
  origin?: string;
  reason: string;
  payload: unknown;
}

export interface DeadLetter extends DeadLetterInput {
  id: number;
  at: string;
}

/** Everything one batch changes. The store commits it in one transaction, or not at all. */
export interface BatchCommit {
  sync: string;
  records: CanonicalRecord[];
  resolution: ResolutionResult;
  deadLetters: DeadLetterInput[];
  /** Stream checkpoints reached by this batch (the last state message of each stream in it). */
  checkpoints: Array<{ stream: string; state: StreamState }>;
  /** Incremental destinations that must hear about the profiles this batch changed. */
  destinations: string[];
  /** The run's row once this batch is committed, written in the batch's transaction (heartbeat too). */
  run?: { id: number; summary: RunSummary };
}

/** What one delivery run did for one destination. */
export interface DeliveryCounts {
  /** Items the destination acknowledged (upserts, deletes, events). */
  delivered: number;
  /** Profiles whose payload had not changed since the destination acknowledged it: not sent. */
  unchanged: number;
  /** Profiles the `where:` filter left out (never sent, or kept as they were). */
  filtered: number;
  /** Deletes sent: merged-away, deleted and no-longer-matching profiles. */
  deleted: number;
  /** Dead-lettered: permanent refusals, too large, or still failing past `deadLetterAfter`. */
  failed: number;
  /** Attempts repeated after a retryable failure (one per item per retry). */
  retried: number;
  /** Items still failing after every attempt: they stay queued for the next run. */
  pending: number;
  /** Requests sent (write calls). */
  requests: number;
  /** Time spent waiting for the rate budget, ms. */
  throttledMs: number;
  /** Set when the run stopped early or left items queued. */
  error?: string;
  /** Profiles not sent because they hold no grant for the destination's `purpose`. */
  withheld?: number;
  /** Withdrawals acknowledged (a profile sent before whose consent is now withdrawn). */
  withdrawn?: number;
  /** Profiles the destination holds whose consent is withdrawn, but it cannot withdraw them (no delete, no withdraw). */
  cannotWithdraw?: number;
}

/** Counts of one stream in one run. Fields marked optional are absent from runs stored by older versions. */
export interface StreamSummary {
  read: number;
  /** Distinct records stored (a key read twice counts once). */
  written: number;
  deadLettered: number;
  /** Field warnings on the records stored. */
  warnings: number;
  /** Records whose primary key was already read in this run (the highest cursor, then the later row, is kept). */
  duplicates?: number;
  /** Rows whose cursor value did not parse or lay beyond the horizon: ingested, but ignored by the state. */
  cursorWarnings?: number;
  /** `warnings` by reason. */
  warningsByReason?: Record<string, number>;
  /** Records dropped before storing because they carry a suppressed identifier (a forgotten person). */
  suppressed?: number;
  /** Identifier links the resolver refused for this stream's records (limits, name guard, generic or blocked values). */
  refused?: number;
}

/** One refused link, newest first, as `tributary profiles refusals` lists it. */
export interface RefusalRow {
  recordKey: string;
  identifierKey: string;
  /** The profiles the link would have joined (empty for a blocked value). */
  profiles: string[];
  /** The profile the record is in now. */
  profileId?: string;
  reason: string;
  at: string;
}

export interface RunSummary {
  streams: Record<string, StreamSummary>;
  profiles: { created: number; updated: number; merged: number };
  destinations?: Record<string, DeliveryCounts>;
}

export interface FieldWarningQuery {
  sync?: string;
  stream?: string;
  /** Most groups returned, biggest first. */
  limit: number;
  /** Example records per group. */
  examples: number;
}

/** Field warnings of the stored records that share a sync, stream, field and reason. */
export interface FieldWarningGroup {
  sync: string;
  stream: string;
  field: string;
  reason: string;
  count: number;
  examples: Array<{ recordId: string; value: unknown }>;
}

export interface RunRecord {
  id: number;
  name: string;
  kind: 'sync' | 'deliver' | 'rebuild';
  startedAt: string;
  finishedAt?: string;
  /** `interrupted`: stopped by a signal, or its process died; what it committed stays and the next run resumes. */
  status: 'running' | 'succeeded' | 'failed' | 'interrupted';
  /** While running: the counts committed so far (updated every batch). */
  summary?: RunSummary;
  error?: string;
  /** The process that runs it, and when it last said it is alive (absent on runs of stores before schema 2). */
  pid?: number;
  host?: string;
  heartbeatAt?: string;
}

export type FinishedStatus = Exclude<RunRecord['status'], 'running'>;

/** When a `running` run is taken to be dead (see ProfileStore.interruptAbandonedRuns). */
export interface AbandonedRunPolicy {
  /** Whether a process of this host is alive (`process.kill(pid, 0)`). */
  isAlive(pid: number): boolean;
  /** A run of another host (or of an unknown one) with no heartbeat for this long is dead. */
  staleMs: number;
  now?: Date;
}

export interface OutboxEntry {
  profileId: string;
  seq: number;
  mergedFrom: string[];
}

export interface ResolutionSnapshot {
  recordProfiles: Map<string, string>;
  profiles: ProfileState[];
  identifierOwners: Map<string, string>;
  links: LinkDecision[];
  presented: Array<[string, string]>;
  refused: RefusedMerge[];
  aliases: Map<string, string>;
  /** Merge events to append (a rebuild records the merges it made). */
  merges: MergeEvent[];
  /** Optional: when given, the probabilistic links stored are replaced by these (a rebuild carries its resolver's evidence). */
  probabilisticLinks?: ProbabilisticLink[];
}

/** `profiles explain`: per purpose, the value that stands, where it came from, and every statement. */
export interface ConsentExplanation {
  purpose: string;
  value: boolean;
  /** The statement that stands (recordKey source/stream/recordId, observedAt). */
  from: { source: string; stream: string; recordId: string; at: string };
  /** Every statement of this profile's records for the purpose, oldest first. */
  history: Array<{ value: boolean; source: string; stream: string; recordId: string; at: string }>;
}

export interface ProfileExplanation {
  /** Consent per purpose (absent from explanations of stores without consent bookkeeping). */
  consent?: ConsentExplanation[];
  profileId: string;
  aliases: string[];
  records: StoredRecord[];
  links: LinkDecision[];
  merges: MergeEvent[];
  refused: RefusedMerge[];
}

/**
 * The profile store. One interface, an embedded SQLite implementation and a
 * PostgreSQL one for many workers. Every method is async so a networked store
 * fits without changing callers.
 */
export interface ProfileStore extends IdentityGraph {
  /**
   * Run `fn` (read the graph, resolve, commit) with no other writer in between,
   * across processes: SQLite holds a write transaction (BEGIN IMMEDIATE), a
   * networked store an advisory lock. Decisions are only valid against the graph they read.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  loadState(sync: string): Promise<Record<string, StreamState>>;
  commitBatch(batch: BatchCommit): Promise<void>;
  /**
   * Optional: a thread committing the engine's batches while the next is resolved
   * (commit-pipeline.ts); undefined when the store commits on the caller's thread.
   */
  commitPipeline?(): CommitPipeline | undefined;
  addDeadLetters(items: DeadLetterInput[]): Promise<void>;

  /** Record a run as `running`, with this process's pid and host. */
  startRun(name: string, kind: RunRecord['kind']): Promise<number>;
  /** Heartbeat of a running run; with a summary, also its live counts. A finished run is left alone. */
  updateRun(id: number, summary?: RunSummary): Promise<void>;
  /** Without a summary, the last live counts are kept. */
  finishRun(id: number, status: FinishedStatus, summary: RunSummary | undefined, error?: string): Promise<void>;
  /**
   * Mark `running` runs whose process is gone as `interrupted`: a run of this host
   * whose pid is not alive, or any other run whose heartbeat is older than `staleMs`.
   * Returns the runs it marked.
   */
  interruptAbandonedRuns(policy: AbandonedRunPolicy): Promise<RunRecord[]>;
  recentRuns(limit: number): Promise<RunRecord[]>;

  /** Follow aliases: an absorbed id resolves to its survivor. */
  resolveProfileId(idOrAlias: string): Promise<string | undefined>;
  profileDocument(id: string): Promise<ProfileDocument | undefined>;
  /** Every profile, in id order, `batchSize` at a time. */
  iterateProfiles(batchSize: number): AsyncIterable<ProfileDocument[]>;
  countProfiles(): Promise<number>;
  explain(profileId: string): Promise<ProfileExplanation>;
  /** The newest refused links (`tributary profiles refusals`), and how many there are in all. Optional for stores that keep none. */
  listRefusals?(limit: number): Promise<{ refusals: RefusalRow[]; total: number }>;

  /** Queued profiles of a destination in queue order, after `afterSeq` (items left queued by a failing batch are skipped past). */
  pendingOutbox(destination: string, limit: number, afterSeq?: number): Promise<OutboxEntry[]>;
  ackOutbox(destination: string, entries: OutboxEntry[]): Promise<void>;

  listDeadLetters(opts: { limit: number; sync?: string }): Promise<DeadLetter[]>;
  /** Field warnings of the stored records, grouped (`tributary warnings list`); `total` counts every group. */
  fieldWarnings(q: FieldWarningQuery): Promise<{ groups: FieldWarningGroup[]; total: number }>;

  /** For `resolve --rebuild`: every stored record, in the order they were first stored. */
  iterateRecords(batchSize: number): AsyncIterable<StoredRecord[]>;
  /** Replace all resolution output (graph, profiles, aliases) in one transaction, keeping records. */
  replaceResolution(r: ResolutionSnapshot, destinations: string[]): Promise<void>;
  /** Everything resolution wrote, for a rebuild to carry over. */
  dumpResolution(): Promise<ResolutionSnapshot>;

  /** Delivery bookkeeping: what each destination holds, failures, cursors, leases. */
  readonly delivery: DeliveryLedger;

  /** Forget requests, the suppression list and the destination deletes they queue (issue 12). */
  readonly privacy: PrivacyLedger;
  /**
   * The inbox of pushed events (`tributary serve`), when the store has one:
   * sources drain it through `ctx.inbox`; the engine releases the rows a
   * committed `{ inboxSeq }` checkpoint covers.
   */
  readonly inbox?: InboxReader & { release(source: string, stream: string, uptoSeq: number): Promise<number> };

  close(): Promise<void>;
}

/** A track record as the events pass of a delivery reads it. */
export interface StoredTrackRecord {
  seq: number;
  key: string;
  profileId: string;
  record: CanonicalRecord;
}

export interface DestinationStatus {
  name: string;
  initializedAt?: string;
  /** Why it is disabled (an endpoint answered 410), when it is. */
  disabled?: string;
  eventSeq: number;
  rateLevels?: Record<string, { times: number[] }>;
  lastRun?: { at: string; counts: DeliveryCounts; error?: string };
}

/** Consent bookkeeping of one destination with a `purpose:`, for `tributary status`. */
export interface WithdrawalStatus {
  /** Profiles it holds (and has not withdrawn) whose consent for the purpose is withdrawn or absent: withdrawn at the next delivery. */
  pending: number;
  /** Profiles withdrawn there (still held, marked). */
  withdrawn: number;
}

/** What settling one delivered batch changes, in one transaction. */
export interface DeliverySettlement {
  /** Outbox entries fully settled (every item of theirs ok, unchanged, dead-lettered or filtered). */
  ack: OutboxEntry[];
  /** Acknowledged upserts: what the destination now holds. */
  put: Array<{ profileId: string; ref: string; hash: string }>;
  /** Acknowledged deletes, or profiles the destination no longer holds. */
  remove: string[];
  deadLetters: DeadLetterInput[];
  /** Items that failed every attempt of this run (profile ids or record keys). */
  failed: Array<{ item: string; reason: string }>;
  /** Items that succeeded or were dead-lettered: forget their failure count. */
  cleared: string[];
  /** Events pass: the cursor after this batch. */
  eventSeq?: number;
  /** Re-queued events that went out (or were dead-lettered). */
  eventRetried?: string[];
}

export interface DeliveryLedger {
  delivered(destination: string, profileIds: string[]): Promise<Map<string, { ref: string; hash: string }>>;
  failures(destination: string, items: string[]): Promise<Map<string, { runs: number; firstAt: string }>>;
  /** Apply one batch's outcome in one transaction; `at` (ISO) stamps new failures and rows. */
  settle(destination: string, s: DeliverySettlement, at?: string): Promise<void>;
  status(destination: string): Promise<DestinationStatus>;
  /** A destination seen for the first time (or `deliver --full`): queue every profile. Returns how many. */
  enqueueAll(destination: string): Promise<number>;
  markInitialized(destination: string): Promise<void>;
  setDisabled(destination: string, reason: string | undefined): Promise<void>;
  saveRun(destination: string, run: { counts: DeliveryCounts; error?: string; rateLevels?: Record<string, { times: number[] }> }): Promise<void>;
  /** Forget what a destination holds (`deliver --full --resend`): everything is sent again. */
  forgetDelivered(destination: string): Promise<void>;
  backlog(destination: string): Promise<number>;
  trackRecordsAfter(seq: number, limit: number): Promise<StoredTrackRecord[]>;
  trackRecordsByKey(keys: string[]): Promise<StoredTrackRecord[]>;
  eventRetries(destination: string, limit: number): Promise<string[]>;
  /** Move a destination's dead letters (all, or the given ids) back to its queue. Returns how many. */
  requeueDeadLetters(destination: string, ids?: number[]): Promise<number>;
  /**
   * Hold a named lease across processes (one delivery per destination at a time).
   * Returns undefined when taken, or who holds it. A holder on this host whose
   * process is gone, or an expired lease, is taken over.
   */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<{ holder: string } | undefined>;
  renewLease(name: string, owner: string, ttlMs: number): Promise<void>;
  releaseLease(name: string, owner: string): Promise<void>;
  /** For a destination with a `purpose:`: withdrawals still to send, and those done (core/store/sqlite-consent.ts). */
  withdrawalStatus(destination: string, purpose: string): Promise<WithdrawalStatus>;
  /** The `purpose:` a destination was last delivered under (`{}`: none; undefined: never recorded). */
  lastPurpose(destination: string): Promise<{ purpose?: string } | undefined>;
  recordPurpose(destination: string, purpose: string | undefined): Promise<void>;
}
