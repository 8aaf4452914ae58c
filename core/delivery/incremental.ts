import { createHash } from 'node:crypto';
import type { DestinationContext, DestinationItem, ProfileDocument, WriteResult } from '../plugin/types.js';
import type { DeadLetterInput, DeliveryCounts, DeliverySettlement, OutboxEntry, ProfileStore } from '../store/types.js';
import type { DestinationPlan } from './plan.js';
import type { DeliveryClock } from './rate-limit.js';
import { itemBytes, pack, writeWithRetry } from './send.js';
import { faultAfterWrite } from './fault.js';
import { withdrawal } from './withdraw.js';

export interface PassDeps {
  store: ProfileStore;
  plan: DestinationPlan;
  ctx: DestinationContext;
  clock: DeliveryClock;
  signal: AbortSignal;
  counts: DeliveryCounts;
}

/** Keys sorted at every level, so the same payload always hashes the same. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * What the destination would hold: the mapped payload, or the profile without
 * its `updatedAt` (a re-read that changes nothing still touches the profile).
 */
export function payloadHash(item: DestinationItem): string {
  const body = item.payload ?? (item.profile ? { ...item.profile, updatedAt: undefined } : null);
  return createHash('sha256').update(stableJson({ op: item.op, body })).digest('base64url').slice(0, 32);
}

interface Work {
  item: DestinationItem;
  entry: OutboxEntry;
  bytes: number;
  ref: string;
  hash?: string;
}

/** One outbox page of one destination: decide what goes out, send it, settle it. */
export async function deliverOutboxPage(deps: PassDeps, entries: OutboxEntry[]): Promise<void> {
  const { store, plan, counts } = deps;
  const name = plan.dest.name;
  const held = await store.delivery.delivered(name, entries.flatMap((e) => [e.profileId, ...e.mergedFrom]));
  const refOf = (item: DestinationItem) => plan.connector.ref?.(item, plan.config) ?? item.key;
  const work: Work[] = [];
  const direct: DeliverySettlement = { ack: [], put: [], remove: [], deadLetters: [], failed: [], cleared: [] };
  const open = new Map<OutboxEntry, number>();

  for (const entry of entries) {
    const doc: ProfileDocument | undefined = await store.profileDocument(entry.profileId);
    const mine: Work[] = [];
    const gone = (key: string, reason: 'merged' | 'deleted' | 'unmatched', survivor?: string) => {
      const prev = held.get(key);
      if (!prev) return;
      if (plan.canDelete) {
        const item: DestinationItem = { key, op: 'delete', previous: { ref: prev.ref }, reason, ...(survivor ? { survivor } : {}) };
        mine.push({ item, entry, bytes: itemBytes(item), ref: prev.ref });
      } else if (reason !== 'unmatched') direct.remove.push(key);
    };
    if (!doc) {
      gone(entry.profileId, 'deleted');
    } else {
      const upsert: DestinationItem = { key: doc.id, op: 'upsert', profile: doc };
      if (plan.payload) upsert.payload = plan.payload.build(doc);
      if (entry.mergedFrom.length) upsert.mergedFrom = entry.mergedFrom;
      const prev = held.get(doc.id);
      if (prev) upsert.previous = { ref: prev.ref };
      const ref = refOf(upsert);
      // Merged-away profiles: delete them there only when they are a different record than the survivor's.
      for (const absorbed of entry.mergedFrom) {
        const p = held.get(absorbed);
        if (!p) continue;
        if (p.ref === ref) direct.remove.push(absorbed);
        else gone(absorbed, 'merged', doc.id);
      }
      const consent = withdrawal(plan, doc, prev, counts);
      if (consent) {
        if (consent.item) mine.push({ item: consent.item, entry, bytes: itemBytes(consent.item), ref: prev!.ref, hash: consent.hash });
      } else if (plan.where && !plan.where.matches(doc)) {
        counts.filtered++;
        if (plan.dest.onUnmatch === 'delete') gone(doc.id, 'unmatched');
      } else {
        const hash = payloadHash(upsert);
        if (prev && prev.hash === hash && prev.ref === ref) counts.unchanged++;
        else mine.push({ item: upsert, entry, bytes: itemBytes(upsert), ref, hash });
      }
    }
    // An item too large for the destination is dead-lettered here; the rest of the batch goes on.
    for (const w of mine) {
      if (w.bytes > plan.maxItemBytes) {
        counts.failed++;
        direct.deadLetters.push(deadLetter(name, w, `payload is ${w.bytes} bytes; ${plan.connector.id} accepts at most ${plan.maxItemBytes} per item`));
        direct.cleared.push(w.item.key);
      } else work.push(w);
    }
    const sent = mine.filter((w) => w.bytes <= plan.maxItemBytes).length;
    if (sent) open.set(entry, sent);
    else direct.ack.push(entry);
  }
  await store.delivery.settle(name, direct, new Date(deps.clock.now()).toISOString());

  // Deletes first (all of them settled before any upsert): a merged-away record goes before its survivor is written.
  const send = async (batch: Work[]) => {
    const results = await writeWithRetry({
      connector: plan.connector,
      ctx: deps.ctx,
      items: batch.map((w) => w.item),
      retry: plan.dest.retry,
      counts,
      clock: deps.clock,
      signal: deps.signal,
    });
    faultAfterWrite();
    await settleBatch(deps, batch, results, open);
  };
  const deletes = work.filter((w) => w.item.op === 'delete');
  const upserts = work.filter((w) => w.item.op !== 'delete');
  for (const group of [deletes, upserts]) {
    await inParallel(pack(group, plan.maxBatchItems, plan.maxBatchBytes), plan.dest.concurrency, deps.signal, send);
  }
}

/**
 * Run `fn` over `items` with at most `limit` in flight. Each batch settles on its
 * own, so a slow one (an import waiting for its process) does not hold the rest;
 * the rate gate still paces every request. The first error stops new starts and
 * is thrown once the ones in flight have finished.
 */
async function inParallel<T>(items: T[], limit: number, signal: AbortSignal, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure && !signal.aborted) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.err;
}

function deadLetter(destination: string, w: Pick<Work, 'item'>, reason: string): DeadLetterInput {
  return { sync: destination, stream: 'profiles', recordId: w.item.key, reason, payload: w.item };
}

async function settleBatch(deps: PassDeps, batch: Work[], results: WriteResult[], open: Map<OutboxEntry, number>): Promise<void> {
  const { plan, counts, store } = deps;
  const name = plan.dest.name;
  const s: DeliverySettlement = { ack: [], put: [], remove: [], deadLetters: [], failed: [], cleared: [] };
  const stuck = batch.filter((_, k) => results[k].status === 'retryable');
  const history = await store.delivery.failures(name, stuck.map((w) => w.item.key));
  const { runs, minutes } = plan.dest.retry.deadLetterAfter;
  const now = deps.clock.now();
  batch.forEach((w, k) => {
    const r = results[k];
    let settled = true;
    if (r.status === 'ok') {
      counts.delivered++;
      if (w.item.reason === 'consent_withdrawn') counts.withdrawn = (counts.withdrawn ?? 0) + 1;
      if (w.item.op === 'delete' && w.item.reason === 'consent_withdrawn') {
        s.remove.push(w.item.key);
      } else if (w.item.op === 'delete') {
        counts.deleted++;
        s.remove.push(w.item.key);
      } else s.put.push({ profileId: w.item.key, ref: w.ref, hash: w.hash! });
      s.cleared.push(w.item.key);
    } else if (r.status === 'permanent') {
      counts.failed++;
      s.deadLetters.push(deadLetter(name, w, r.reason));
      s.cleared.push(w.item.key);
    } else {
      // Still failing after every attempt of this run: it stays queued, unless it has failed for long enough.
      const h = history.get(w.item.key);
      const failedRuns = (h?.runs ?? 0) + 1;
      const since = h ? Date.parse(h.firstAt) : now;
      if (failedRuns >= runs && now - since >= minutes * 60_000) {
        counts.failed++;
        s.deadLetters.push(deadLetter(name, w, `still failing after ${failedRuns} runs since ${new Date(since).toISOString()}: ${r.reason}`));
        s.cleared.push(w.item.key);
      } else {
        counts.pending++;
        s.failed.push({ item: w.item.key, reason: r.reason });
        // Not settled: its entry's count never reaches 0, so the entry is not acknowledged in this run.
        settled = false;
      }
    }
    if (settled && open.has(w.entry)) {
      const left = open.get(w.entry)! - 1;
      if (left === 0) {
        open.delete(w.entry);
        s.ack.push(w.entry);
      } else open.set(w.entry, left);
    }
  });
  await store.delivery.settle(name, s, new Date(deps.clock.now()).toISOString());
}
