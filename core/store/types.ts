import type { ProfileDocument, StreamState } from '../plugin/types.js';
import type { CanonicalRecord } from '../schema/canonical.js';
import type { IdentityGraph, MergeEvent, ProfileState, RefusedMerge, ResolutionResult, StoredRecord, LinkDecision } from '../resolution/types.js';

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
}

export interface RunSummary {
  streams: Record<string, StreamSummary>;
  profiles: { created: number; updated: number; merged: number };
  destinations?: Record<string, { delivered: number; failed: number; retried: number }>;
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
  status: 'running' | 'succeeded' | 'failed';
  summary?: RunSummary;
  error?: string;
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
}

export interface ProfileExplanation {
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
  addDeadLetters(items: DeadLetterInput[]): Promise<void>;

  startRun(name: string, kind: RunRecord['kind']): Promise<number>;
  finishRun(id: number, status: 'succeeded' | 'failed', summary: RunSummary | undefined, error?: string): Promise<void>;
  recentRuns(limit: number): Promise<RunRecord[]>;

  /** Follow aliases: an absorbed id resolves to its survivor. */
  resolveProfileId(idOrAlias: string): Promise<string | undefined>;
  profileDocument(id: string): Promise<ProfileDocument | undefined>;
  /** Every profile, in id order, `batchSize` at a time. */
  iterateProfiles(batchSize: number): AsyncIterable<ProfileDocument[]>;
  countProfiles(): Promise<number>;
  explain(profileId: string): Promise<ProfileExplanation>;

  pendingOutbox(destination: string, limit: number): Promise<OutboxEntry[]>;
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

  close(): Promise<void>;
}
