import type { DeliveryRetryConfig } from '../config/schema.js';
import { ConnectionError, errorMessage } from '../errors.js';
import { backoffDelay } from '../engine/retry.js';
import type { DestinationConnector, DestinationContext, DestinationItem, WriteResult } from '../plugin/types.js';
import type { DeliveryCounts } from '../store/types.js';
import type { DeliveryClock } from './rate-limit.js';
import { formatMs } from '../config/timeouts.js';

export function emptyCounts(): DeliveryCounts {
  return { delivered: 0, unchanged: 0, filtered: 0, deleted: 0, failed: 0, retried: 0, pending: 0, requests: 0, throttledMs: 0 };
}

/** Bytes of what an item puts on the wire: its payload, else its profile or event. */
export function itemBytes(item: DestinationItem): number {
  return Buffer.byteLength(JSON.stringify(item.payload ?? item.event ?? item.profile ?? { key: item.key }), 'utf8');
}

/**
 * Split items into write calls of at most `maxItems` items and `maxBytes` payload
 * bytes, keeping their order (deletes were put first by the caller). An item
 * alone over `maxBytes` still goes alone: the per-item limit decided before.
 */
export function pack<T extends { bytes: number }>(items: T[], maxItems: number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const it of items) {
    if (cur.length && (cur.length >= maxItems || bytes + it.bytes > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += it.bytes;
  }
  if (cur.length) out.push(cur);
  return out;
}

/**
 * Send items, retrying only the retryable ones, with exponential backoff and
 * full jitter, or the server's own wait (Retry-After, a vendor reset header)
 * clamped to `maxDelayMs`. Returns the last result per item.
 *
 * A write that throws counts as retryable for the whole batch (the connector
 * could not say), except a ConnectionError marked not retryable (a rejected
 * credential, an endpoint that is gone): that stops the run at once.
 */
export async function writeWithRetry(opts: {
  connector: DestinationConnector;
  ctx: DestinationContext;
  items: DestinationItem[];
  retry: DeliveryRetryConfig;
  counts: DeliveryCounts;
  clock: DeliveryClock;
  signal: AbortSignal;
}): Promise<WriteResult[]> {
  const { connector, ctx, items, retry, counts, clock, signal } = opts;
  const results: WriteResult[] = new Array(items.length);
  let todo = items.map((_, i) => i);
  for (let attempt = 0; ; attempt++) {
    let got: WriteResult[];
    counts.requests++;
    try {
      got = await connector.write(ctx, todo.map((i) => items[i]));
      if (!Array.isArray(got) || got.length !== todo.length) {
        throw new Error(`connector ${connector.id} returned ${Array.isArray(got) ? got.length : 'no'} results for ${todo.length} items`);
      }
    } catch (err) {
      if (err instanceof ConnectionError && !err.retryable) throw err;
      got = todo.map(() => ({ status: 'retryable', reason: errorMessage(err) }));
    }
    const again: number[] = [];
    let hint: number | undefined;
    got.forEach((r, k) => {
      results[todo[k]] = r;
      if (r.status === 'retryable') {
        again.push(todo[k]);
        if (r.retryAfterMs !== undefined) hint = Math.max(hint ?? 0, r.retryAfterMs);
      }
    });
    if (!again.length || attempt + 1 >= retry.attempts || signal.aborted) return results;
    counts.retried += again.length;
    const delay = backoffDelay(retry, attempt, hint);
    ctx.logger.warn(`destination ${ctx.name}: ${again.length} item(s) will be retried in ${delay} ms (attempt ${attempt + 2} of ${retry.attempts})`, {
      reason: (results[again[0]] as { reason: string }).reason,
    });
    await clock.sleep(delay, signal);
    todo = again;
  }
}

/**
 * The connector with a deadline on each `write`: a call still pending after `ms`
 * gets its signal aborted (so a plugin that honours ctx.signal drops the request)
 * and rejects with a plain error, which `writeWithRetry` treats as a network
 * failure: retried per the retry policy, and left queued when attempts run out.
 * A result the abandoned call returns later is ignored; a retry re-sends the
 * same upserts, which destinations apply idempotently.
 */
export function withWriteTimeout<C extends DestinationConnector>(connector: C, ms: number, label: string): C {
  const write: DestinationConnector['write'] = (ctx, batch) => {
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`${label} did not return from write within ${formatMs(ms)} (timeouts.write); counted as a network failure`);
        ac.abort(err);
        reject(err);
      }, ms);
    });
    const call = connector.write({ ...ctx, signal: AbortSignal.any([ctx.signal, ac.signal]) }, batch);
    return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
  };
  // A proxy, not a copy: a class-based connector keeps its `this` (and private fields) for every other method.
  return new Proxy(connector, {
    get(target, prop) {
      if (prop === 'write') return write;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
