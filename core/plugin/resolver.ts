import type { CanonicalRecord } from '../schema/canonical.js';
import type { ResolutionConfig } from '../config/schema.js';
import type { IdentityGraph, ResolutionResult } from '../resolution/types.js';
import type { Logger } from './types.js';

// The resolver contract. The data shapes it trades in (IdentityGraph, ResolutionResult,
// ProfileState) stay in core/resolution/types.ts, imported here as types only.

export interface ResolverContext {
  logger: Logger;
  rules: ResolutionConfig;
  now: () => Date;
  newProfileId: () => string;
}

/**
 * Identity resolution stage. Implement one to change how records become profiles
 * (the default is deterministic on exact identifiers; a probabilistic matcher is a plugin).
 * A resolver reads the graph and returns decisions; it never writes: the engine commits
 * the result in the same transaction as the records.
 */
export interface Resolver {
  readonly id: string;
  resolve(ctx: ResolverContext, batch: CanonicalRecord[], graph: IdentityGraph): Promise<ResolutionResult>;
}
