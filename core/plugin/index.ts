/**
 * `tributary/plugin`: everything a plugin author imports, from one place.
 *
 *   import { definePlugin, PLUGIN_API_VERSION, ConnectionError, type SourceConnector } from 'tributary/plugin';
 *
 * The test kits (they need vitest) are a separate entry: `tributary/plugin/kit`.
 * Anything not exported here is internal and may change in any release; see
 * docs/plugin-api.md for what a minor and a major API change mean.
 */
export * from './types.js';
/** The engine's own zod, for `spec.config` / `spec.stream`: one copy, so `tributary schema` can read plugin schemas. */
export { z } from 'zod';
export type { PluginDefinition } from './define-plugin.js';
export { definePlugin } from './define-plugin.js';
export { PLUGIN_API_MINOR, SUPPORTED_PLUGIN_API, isSupportedApiVersion, type PluginApiVersion } from './api-version.js';
export type { Resolver, ResolverContext } from './resolver.js';
export type { Transform } from './transform.js';
export type {
  IdentityGraph,
  ResolutionResult,
  ProfileState,
  StoredRecord,
  LinkDecision,
  MergeEvent,
  RefusedMerge,
} from '../resolution/types.js';
export type { CanonicalRecord, Identifier, TrackEvent } from '../schema/canonical.js';
export { identifierKey, recordKey } from '../schema/canonical.js';
export type { ErrorContext } from '../errors.js';
export {
  TributaryError,
  ConfigError,
  ConnectionError,
  DestinationGoneError,
  RecordError,
  PluginError,
  errorMessage,
} from '../errors.js';
