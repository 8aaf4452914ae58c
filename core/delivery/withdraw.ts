import type { DestinationItem, ProfileDocument } from '../plugin/types.js';
import { hasGrant, WITHDRAWN_HASH } from '../privacy/consent.js';
import type { DeliveryCounts, ProfileStore } from '../store/types.js';
import type { Logger } from '../plugin/types.js';
import type { DestinationPlan } from './plan.js';

/**
 * The consent gate of a destination with a `purpose:`. Returns undefined when
 * the profile holds a grant (it goes on to `where:` and the payload); else the
 * profile is withheld, and when the destination holds it (and has not
 * withdrawn it yet) the item that withdraws it there:
 * - `mark` destinations get `op: 'withdraw'`, acknowledged as WITHDRAWN_HASH
 *   (kept, so it is not withdrawn again; a new grant's payload differs, so it is sent again);
 * - `delete` destinations get a delete with reason `consent_withdrawn` (the row goes);
 * - `update` destinations (a delete destination whose mapping writes `consent.<purpose>`)
 *   get an upsert with reason `consent_withdrawn`: the row stays with its consent column false;
 * - a destination that can do neither is counted in `cannotWithdraw`, and stays
 *   pending in `tributary status`.
 * No statement at all is no grant: a profile that never consented is never sent.
 */
export function withdrawal(
  plan: DestinationPlan,
  doc: ProfileDocument,
  prev: { ref: string; hash: string } | undefined,
  counts: DeliveryCounts,
): { item?: DestinationItem; hash?: string } | undefined {
  const purpose = plan.purpose;
  if (!purpose || hasGrant(doc.traits, purpose)) return undefined;
  counts.withheld = (counts.withheld ?? 0) + 1;
  if (!prev || prev.hash === WITHDRAWN_HASH) return {};
  const base = { key: doc.id, previous: { ref: prev.ref }, reason: 'consent_withdrawn' as const, purpose };
  switch (plan.withdraw) {
    case 'mark':
      return { item: { ...base, op: 'withdraw', profile: doc }, hash: WITHDRAWN_HASH };
    case 'delete':
      return { item: { ...base, op: 'delete' } };
    case 'update':
      // The mapped consent column now says false; kept as withdrawn so it is not sent again.
      return { item: { ...base, op: 'upsert', profile: doc, ...(plan.payload ? { payload: plan.payload.build(doc) } : {}) }, hash: WITHDRAWN_HASH };
    case 'rewrite':
    case 'none':
      counts.cannotWithdraw = (counts.cannotWithdraw ?? 0) + 1;
      return {};
  }
}

/**
 * A `purpose:` added, changed or removed in YAML changes which profiles the
 * destination should hold, though no profile changed: queue every profile
 * once (only changed payloads and due withdrawals go out), so what `status`
 * shows as pending is sent at this delivery, not whenever each profile next changes.
 */
export async function followPurposeChange(store: ProfileStore, plan: DestinationPlan, logger: Logger, queuedAll: boolean): Promise<void> {
  const name = plan.dest.name;
  const last = await store.delivery.lastPurpose(name);
  if ((last?.purpose ?? undefined) === plan.purpose) {
    if (!last) await store.delivery.recordPurpose(name, plan.purpose);
    return;
  }
  // Never recorded but delivered before (a store from before consent bookkeeping) counts as "no purpose".
  if (!queuedAll) {
    const n = await store.delivery.enqueueAll(name);
    logger.info(`destination ${name}: purpose changed from ${last?.purpose ?? '(none)'} to ${plan.purpose ?? '(none)'}; ${n} profiles queued`);
  }
  await store.delivery.recordPurpose(name, plan.purpose);
}
