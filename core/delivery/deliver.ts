import { ConnectionError, DestinationGoneError, errorMessage } from '../errors.js';
import type { DestinationContext, DestinationItem, Logger } from '../plugin/types.js';
import type { DeliveryCounts, ProfileStore } from '../store/types.js';
import { deliverEvents } from './events.js';
import { deliverForgetDeletes } from './forget-deletes.js';
import { deliverOutboxPage, type PassDeps } from './incremental.js';
import type { DestinationPlan } from './plan.js';
import { RateLimiter, type DeliveryClock, type RateGateFactory } from './rate-limit.js';
import { emptyCounts, itemBytes, pack, withWriteTimeout, writeWithRetry } from './send.js';
import { DEFAULT_WRITE_MS } from '../config/timeouts.js';
import { hasGrant } from '../privacy/consent.js';
import { followPurposeChange } from './withdraw.js';

export interface DeliverDeps {
  store: ProfileStore;
  logger: Logger;
  clock: DeliveryClock;
  /** Where relative paths in the destination's config are resolved (the config file's folder). */
  baseDir?: string;
  /** Deadline of one write call unless the destination sets `timeouts.write` (the config's top-level `timeouts.write`). */
  writeTimeoutMs?: number;
  /** How messages name a connector: `connector "x" (plugin y)`. */
  describeConnector?: (id: string) => string;
  /** The rate gate of each run when the budget must hold beyond this process (distributed mode); else in memory. */
  rateGate?: RateGateFactory;
}

export interface DeliverOptions {
  /** Queue every profile again (only changed payloads still go out). */
  full?: boolean;
  /** With `full`: forget what the destination holds, so every profile is sent. */
  resend?: boolean;
}

/** Items still failing after every attempt; they stay queued. Carries the run's counts. */
export class DeliveryIncompleteError extends ConnectionError {
  constructor(
    message: string,
    readonly counts: DeliveryCounts,
  ) {
    super(message, {}, { retryable: true });
  }
}

/**
 * One delivery run of one destination. Incremental destinations get the queued
 * profiles whose payload changed (plus deletes for merged-away, deleted and
 * no-longer-matching ones) and then, when enabled, the new track events;
 * snapshot destinations get every matching profile.
 */
export async function deliver(deps: DeliverDeps, checkedPlan: DestinationPlan, signal: AbortSignal, opts: DeliverOptions = {}): Promise<DeliveryCounts> {
  const { store } = deps;
  // Every write of this run, whichever pass makes it, has a deadline: a hung call is a retryable failure, not a hung run.
  const writeMs = checkedPlan.dest.timeouts?.write ?? deps.writeTimeoutMs ?? DEFAULT_WRITE_MS;
  const label = `destination ${checkedPlan.dest.name}: ${deps.describeConnector?.(checkedPlan.connector.id) ?? `connector "${checkedPlan.connector.id}"`}`;
  const plan: DestinationPlan = { ...checkedPlan, connector: withWriteTimeout(checkedPlan.connector, writeMs, label) };
  const name = plan.dest.name;
  const status = await store.delivery.status(name);
  if (status.disabled) {
    throw new ConnectionError(`destination ${name} is disabled (${status.disabled}); fix the endpoint, then run: tributary deliver ${name} --enable`, { sync: name }, { retryable: false });
  }
  const counts = emptyCounts();
  const limiter = deps.rateGate
    ? deps.rateGate({ destination: name, budgets: plan.budgets, clock: deps.clock, signal, levels: status.rateLevels })
    : new RateLimiter(plan.budgets, deps.clock, signal, status.rateLevels);
  const ctx: DestinationContext = { name, config: plan.config, logger: deps.logger, metrics: { count: () => undefined }, signal, rate: limiter, ...(deps.baseDir ? { baseDir: deps.baseDir } : {}) };
  const pass: PassDeps = { store, plan, ctx, clock: deps.clock, signal, counts };
  try {
    if (plan.connector.delivery === 'snapshot') await deliverSnapshot(pass);
    else {
      // A destination seen for the first time has an empty queue: it gets every profile once.
      if (!status.initializedAt || opts.full) {
        if (opts.resend) await store.delivery.forgetDelivered(name);
        const n = await store.delivery.enqueueAll(name);
        await store.delivery.markInitialized(name);
        if (n) deps.logger.info(`destination ${name}: ${n} profiles queued (${status.initializedAt ? 'full delivery' : 'first delivery'})`);
      }
      await followPurposeChange(store, plan, deps.logger, !status.initializedAt || !!opts.full);
      // A page feeds every write call in flight, so `concurrency` batches can run at once.
      const pageSize = Math.min(50_000, Math.max(plan.maxBatchItems * plan.dest.concurrency * 2, 500));
      let after = 0;
      for (;;) {
        if (signal.aborted) break;
        const entries = await store.pendingOutbox(name, pageSize, after);
        if (!entries.length) break;
        await deliverOutboxPage(pass, entries);
        after = entries[entries.length - 1].seq;
      }
      if (plan.sendEvents && !signal.aborted) await deliverEvents(pass, pageSize);
      // Last, so a profile upserted by this run just before it was forgotten is deleted after.
      await deliverForgetDeletes(pass);
    }
  } catch (err) {
    counts.throttledMs = limiter.waitedMs;
    if (err instanceof DestinationGoneError) {
      await store.delivery.setDisabled(name, `${errorMessage(err)} at ${new Date(deps.clock.now()).toISOString()}`);
    }
    await store.delivery.saveRun(name, { counts, error: errorMessage(err), rateLevels: limiter.levels() });
    throw err;
  }
  counts.throttledMs = limiter.waitedMs;
  const pending = counts.pending;
  await store.delivery.saveRun(name, {
    counts,
    ...(pending ? { error: `${pending} item(s) still failing` } : {}),
    rateLevels: limiter.levels(),
  });
  if (pending) {
    throw new DeliveryIncompleteError(`destination ${name}: ${pending} item(s) still failing after ${plan.dest.retry.attempts} attempts; they stay queued for the next run`, counts);
  }
  return counts;
}

/** Every profile, filtered and mapped, between the connector's begin and commit. */
async function deliverSnapshot(pass: PassDeps): Promise<void> {
  const { store, plan, ctx, counts } = pass;
  const { connector } = plan;
  await connector.begin?.(ctx);
  try {
    for await (const page of store.iterateProfiles(plan.maxBatchItems)) {
      const items: DestinationItem[] = [];
      for (const p of page) {
        if (plan.where && !plan.where.matches(p)) {
          counts.filtered++;
          continue;
        }
        // A snapshot is written whole: leaving a profile out is its withdrawal.
        if (plan.purpose && !hasGrant(p.traits, plan.purpose)) {
          counts.withheld = (counts.withheld ?? 0) + 1;
          continue;
        }
        items.push({ key: p.id, op: 'upsert', profile: p, ...(plan.payload ? { payload: plan.payload.build(p) } : {}) });
      }
      const sized = items.map((item) => ({ item, bytes: itemBytes(item) }));
      for (const batch of pack(sized, plan.maxBatchItems, plan.maxBatchBytes)) {
        const results = await writeWithRetry({ connector, ctx, items: batch.map((b) => b.item), retry: plan.dest.retry, counts, clock: pass.clock, signal: pass.signal });
        const stuck = results.find((r) => r.status === 'retryable');
        if (stuck) throw new ConnectionError(`destination ${plan.dest.name}: ${(stuck as { reason: string }).reason}`, { sync: plan.dest.name });
        const dead = batch.filter((_, k) => results[k].status === 'permanent');
        if (dead.length) {
          await store.addDeadLetters(
            dead.map((b) => ({ sync: plan.dest.name, stream: 'profiles', recordId: b.item.key, reason: (results[batch.indexOf(b)] as { reason: string }).reason, payload: b.item })),
          );
        }
        counts.failed += dead.length;
        counts.delivered += batch.length - dead.length;
      }
    }
    await connector.commit?.(ctx);
  } catch (err) {
    await connector.abort?.(ctx);
    throw err;
  }
}
