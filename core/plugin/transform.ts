import type { CanonicalRecord } from '../schema/canonical.js';

/**
 * A pure function over canonical records, run after mapping and before resolution.
 * Implement one to enrich, filter or hash records. Return `null` to drop a record
 * on purpose (it is counted, not dead-lettered); throw a RecordError to dead-letter it.
 *
 * @example
 * const dropTestAccounts: Transform = {
 *   id: 'drop-test-accounts',
 *   apply: (r) => (r.traits.email?.toString().endsWith('@example.test') ? null : r),
 * };
 */
export interface Transform<O = unknown> {
  readonly id: string;
  apply(record: CanonicalRecord, options: O): CanonicalRecord | null;
}
