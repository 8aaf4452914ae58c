import type { DestinationItem } from '../plugin/types.js';
import type { ForgetDeleteOutcome } from '../privacy/forget-types.js';
import type { PassDeps } from './incremental.js';
import { writeWithRetry } from './send.js';

/**
 * The deletes that `tributary forget` queued for this destination, sent at the
 * end of every incremental delivery run until the destination confirms them.
 * Each is addressed by the ref the destination acknowledged (a Brevo contact,
 * a row key): the forgotten profile itself is gone from the store. A delete
 * still failing after the run's attempts stays pending (counted in `pending`,
 * so the run reports it and the next run retries); a permanent refusal is
 * `refused`; a connector without deletes is `not_supported`. Both are shown by
 * `tributary forget --status`.
 */
export async function deliverForgetDeletes(pass: PassDeps): Promise<void> {
  const { store, plan, counts } = pass;
  const name = plan.dest.name;
  for (;;) {
    if (pass.signal.aborted) return;
    const pending = await store.privacy.pendingDeletes(name, plan.maxBatchItems);
    if (!pending.length) return;
    if (!plan.canDelete) {
      const error = `connector ${plan.connector.id} cannot delete: remove the record at the destination by hand`;
      await store.privacy.settleDeletes(name, pending.map((d) => ({ requestId: d.requestId, profileId: d.profileId, status: 'not_supported', error })));
      continue;
    }
    const items: DestinationItem[] = pending.map((d) => ({ key: d.profileId, op: 'delete', previous: { ref: d.ref }, reason: 'deleted', erase: true }));
    const results = await writeWithRetry({ connector: plan.connector, ctx: pass.ctx, items, retry: plan.dest.retry, counts, clock: pass.clock, signal: pass.signal });
    let stuck = false;
    const outcomes: ForgetDeleteOutcome[] = pending.map((d, i) => {
      const r = results[i];
      if (r.status === 'ok') {
        counts.delivered++;
        counts.deleted++;
        return { requestId: d.requestId, profileId: d.profileId, status: 'done' };
      }
      if (r.status === 'permanent') {
        counts.failed++;
        return { requestId: d.requestId, profileId: d.profileId, status: 'refused', error: r.reason };
      }
      stuck = true;
      counts.pending++;
      return { requestId: d.requestId, profileId: d.profileId, status: 'pending', error: r.reason };
    });
    await store.privacy.settleDeletes(name, outcomes);
    // What is still failing waits for the next run; asking again now would send the same page.
    if (stuck) return;
  }
}
