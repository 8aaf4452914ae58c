import type { CanonicalRecord } from '../schema/canonical.js';
import type { Logger } from '../plugin/types.js';
import type { ResolutionConfig } from '../config/schema.js';

/** A profile as the resolver and the store see it. */
export interface ProfileState {
  id: string;
  createdAt: string;
  updatedAt: string;
  /** Identifier keys (see identifierKey) owned by this profile. */
  identifiers: string[];
  recordCount: number;
  traits: Record<string, unknown>;
  /** Which record supplied each trait: `source/stream/recordId`. */
  traitSources: Record<string, string>;
  computed: Record<string, unknown>;
  /**
   * Resolver-owned running state behind traits and computed traits (counts for
   * most_frequent, sums, times), so a batch updates a profile without re-reading
   * its records. Opaque to the store: it is saved and handed back as is.
   */
  aggregates: Record<string, unknown>;
  /**
   * Given and family names this profile's records carry, with how many records carry
   * each (folded: "chloe"). The name guard compares with all of them, not the first.
   * Absent on profiles written before it existed: the guard then reads the traits.
   */
  names?: { given: Record<string, number>; family: Record<string, number>; dob?: Record<string, number>; postcode?: Record<string, number> };
}

export interface StoredRecord extends CanonicalRecord {
  profileId: string;
}

/**
 * The persisted identity graph, read side. All lookups are batched: a resolver asks
 * once per batch, so a networked store (PostgreSQL) costs one round trip, not one per record.
 */
export interface IdentityGraph {
  /** identifier key -> profile id (aliases already followed). Keys not present are unknown. */
  lookupIdentifiers(keys: string[]): Promise<Map<string, string>>;
  getProfiles(ids: string[]): Promise<Map<string, ProfileState>>;
  /** Every stored record of these profiles, for survivorship. */
  recordsOfProfiles(ids: string[]): Promise<StoredRecord[]>;
  /** The records already stored under these keys (`source/stream/recordId`), if any. */
  existingRecords(keys: string[]): Promise<Map<string, StoredRecord>>;
  /**
   * identifier key -> how many distinct profiles other than its owner have presented
   * it (records carrying it whose link was refused). Asked only for owned keys.
   */
  presentedBy(keys: string[]): Promise<Map<string, number>>;
  /**
   * identifier key -> the profiles other than its owner that present it (at most
   * `limit` per key, oldest first). A record carrying the value may join any of them,
   * not only the owner: a person whose first record was refused keeps a profile that
   * the rest of their records can find. Optional: without it only owners are found.
   */
  presentersOf?(keys: string[], limit: number): Promise<Map<string, string[]>>;
  /**
   * Optional, for resolvers that compare records (probabilistic): blocking key -> the
   * stored records filed under it (current profile ids), at most `perKey` each, most
   * recent first. Implement it in a store to let such a resolver compare a batch with
   * its candidates only; a store without it gets exact-identifier resolution only.
   */
  candidatesByBlockingKey?(keys: string[], perKey: number): Promise<Map<string, StoredRecord[]>>;
  /** Optional: the newest stored match model of a resolver (`resolve --train`), as saved. */
  latestMatchModel?(resolver: string): Promise<StoredMatchModel | undefined>;
}

/** A trained model as the store keeps it: versioned, the body opaque to the store. */
export interface StoredMatchModel {
  resolver: string;
  version: number;
  trainedAt: string;
  /** JSON of the resolver's own model. */
  body: string;
}

/** One comparison's part in a probabilistic link, for `profiles explain`. */
export interface LinkEvidence {
  comparison: string;
  level: string;
  weight: number;
}

/** A link a probabilistic resolver made between a batch record and another record. */
export interface ProbabilisticLink {
  recordKey: string;
  otherRecordKey: string;
  probability: number;
  modelVersion: number;
  evidence: LinkEvidence[];
  at: string;
}

export interface LinkDecision {
  recordKey: string;
  identifierKey: string;
  /** Which rule made the link, e.g. `mergeOn:email`. */
  rule: string;
}

export interface MergeEvent {
  survivor: string;
  absorbed: string;
  recordKey: string;
  identifierKey: string;
  rule: string;
  at: string;
}

export interface RefusedMerge {
  recordKey: string;
  identifierKey: string;
  profiles: string[];
  reason: string;
  at: string;
}

export interface ResolutionResult {
  /** recordKey -> profile id, for every record of the batch. */
  assignments: Map<string, string>;
  links: LinkDecision[];
  /** identifier key -> profile id, for every identifier that is new or moved. */
  identifierOwners: Map<string, string>;
  merges: MergeEvent[];
  refused: RefusedMerge[];
  /** Profiles created or changed by this batch, with their recomputed traits. */
  profiles: ProfileState[];
  /** Values that stopped counting as evidence during this batch (generic values). */
  genericValues: Array<{ identifierKey: string; profiles: number }>;
  /** Keys of batch records that were already stored (read again): their old refusals are replaced. */
  reread?: string[];
  /** (identifier key, profile id) pairs where a profile other than the owner presented the key. */
  presented: Array<[string, string]>;
  /** Optional: record key -> its blocking keys, stored (replacing old ones) in the batch's transaction. */
  blockingKeys?: Array<[string, string[]]>;
  /** Optional: probabilistic links made by this batch, stored with it so `explain` can show them. */
  probabilisticLinks?: ProbabilisticLink[];
}

export type { Resolver, ResolverContext } from '../plugin/resolver.js';
