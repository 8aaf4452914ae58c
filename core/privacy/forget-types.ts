/**
 * The privacy side of the store: forget requests, the suppression list, the
 * per-destination deletes a forget leaves to do, and the audit log. Nothing here
 * holds personal data except `ForgetDelete.ref` while a delete is not done yet
 * (it names the record to delete at the destination) and is dropped after.
 */

/** `forget`: delete and suppress; `suppress-only`: stop collecting; `unsuppress`: collect again. */
export type PrivacyRequestKind = 'forget' | 'suppress-only' | 'unsuppress';

/**
 * `pending`: a destination delete is still to do (or retrying); `completed`: every
 * destination confirmed; `partial`: some destination refused or cannot delete.
 */
export type PrivacyOutcome = 'pending' | 'completed' | 'partial' | 'nothing held';

export type DeleteStatus = 'pending' | 'done' | 'refused' | 'not_supported';

export interface ForgetInput {
  /** Profiles to delete (ids, not aliases); empty for `suppress-only`. */
  profileIds: string[];
  /** Identifier keys (see identifierKey) to suppress besides the deleted profiles' own. */
  suppressKeys: string[];
  reason?: string;
  kind: 'forget' | 'suppress-only';
  /** Overrides the clock (tests). */
  at?: string;
}

/** What a forget removed, by table; the audit log keeps these counts and nothing else about the person. */
export type ForgetCounts = Record<string, number>;

export interface ForgetResult {
  requestId: number;
  counts: ForgetCounts;
  /** Identifier hashes added to the suppression list (already there ones are not counted). */
  suppressed: number;
  /** Destinations that hold the person and got a delete queued. */
  deletes: Array<{ destination: string; profileId: string }>;
  /**
   * SQLite: the WAL was emptied (a reader in another process can keep it from being truncated).
   * Absent on a store without a local WAL file (PostgreSQL vacuums the touched tables instead).
   */
  walTruncated?: boolean;
}

/** One queued destination delete, with what addresses the record there. */
export interface ForgetDelete {
  requestId: number;
  destination: string;
  profileId: string;
  ref: string;
}

export interface ForgetDeleteOutcome {
  requestId: number;
  profileId: string;
  status: DeleteStatus;
  /** Why it failed, with the ref scrubbed out. */
  error?: string;
}

export interface PrivacyRequest {
  id: number;
  kind: PrivacyRequestKind;
  at: string;
  reason?: string;
  outcome: PrivacyOutcome;
  counts: ForgetCounts;
  finishedAt?: string;
  destinations: Array<{ destination: string; profileId: string; status: DeleteStatus; attempts: number; error?: string; updatedAt: string }>;
}

export interface PrivacyLedger {
  /** Delete the profiles and everything about them, suppress their identifiers, queue destination deletes: one transaction. */
  forget(input: ForgetInput): Promise<ForgetResult>;
  /** Remove identifiers (and, with `request`, every one that request suppressed) from the suppression list. Returns how many were there. */
  unsuppress(keys: string[], reason?: string, request?: number): Promise<{ requestId: number; removed: number }>;
  /** Profiles that own one of these identifier keys or presented it (a refused claim), aliases followed. */
  profilesHolding(keys: string[]): Promise<string[]>;
  /** For `profiles export-subject`: where these profile ids were delivered, and dead letters naming them or these values. */
  subjectHoldings(profileIds: string[], values: string[]): Promise<{ delivered: Array<{ destination: string; ref: string; at: string }>; deadLetters: unknown[] }>;
  /**
   * Retention: reduce a stream's track records observed before `before` (up to event seq `maxSeq`) to what the
   * profile is built from (see expiredRecord); with dryRun only count them. Returns how many.
   */
  expireTrackRecords(opts: { source: string; stream: string; before: string; maxSeq: number; keepProperties: string[]; dryRun: boolean }): Promise<number>;
  /** Whether anything is suppressed at all (the engine skips its checks when not). */
  hasSuppressions(): Promise<boolean>;
  /** Which of these identifier keys are suppressed. */
  suppressedAmong(keys: string[]): Promise<Set<string>>;
  pendingDeletes(destination: string, limit: number): Promise<ForgetDelete[]>;
  /** Record what the destination answered; a `done` delete drops its ref (then the WAL is checkpointed). */
  settleDeletes(destination: string, outcomes: ForgetDeleteOutcome[]): Promise<void>;
  requests(opts: { id?: number; limit: number }): Promise<PrivacyRequest[]>;
}
