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

export interface RunSummary {
  streams: Record<string, { read: number; written: number; deadLettered: number; warnings: number }>;
  profiles: { created: number; updated: number; merged: number };
  destinations?: Record<string, { delivered: number; failed: number; retried: number }>;
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

  pendingOutbox(destination: string, limit: number): Promise<OutboxEntry[]>;
  ackOutbox(destination: string, entries: OutboxEntry[]): Promise<void>;

  listDeadLetters(opts: { limit: number; sync?: string }): Promise<DeadLetter[]>;

  /** For `resolve --rebuild`: every stored record, in the order they were first stored. */
  iterateRecords(batchSize: number): AsyncIterable<StoredRecord[]>;
  /** Replace all resolution output (graph, profiles, aliases) in one transaction, keeping records. */
  replaceResolution(r: ResolutionSnapshot, destinations: string[]): Promise<void>;
  /** Everything resolution wrote, for a rebuild to carry over. */
  dumpResolution(): Promise<ResolutionSnapshot>;

  close(): Promise<void>;
}
