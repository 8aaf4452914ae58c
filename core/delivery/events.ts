import type { DestinationItem } from '../plugin/types.js';
import { hasGrant } from '../privacy/consent.js';
import type { DeliverySettlement, StoredTrackRecord } from '../store/types.js';
import type { PassDeps } from './incremental.js';
import { itemBytes, pack, writeWithRetry } from './send.js';

/**
 * Track events to a destination that takes them: every stored track record
 * after the destination's event cursor, in store order, each sent once. Re-queued
 * dead letters go first. A batch still failing after every attempt stops the
 * pass there: the cursor stays before it, so order holds and nothing is skipped.
 */
export async function deliverEvents(deps: PassDeps, pageSize: number): Promise<void> {
  const { store, plan, counts } = deps;
  const name = plan.dest.name;
  const retryKeys = await store.delivery.eventRetries(name, pageSize);
  if (retryKeys.length) {
    const rows = await store.delivery.trackRecordsByKey(retryKeys);
    const found = new Set(rows.map((r) => r.key));
    await store.delivery.settle(name, { ack: [], put: [], remove: [], deadLetters: [], failed: [], cleared: [], eventRetried: retryKeys.filter((k) => !found.has(k)) }, new Date(deps.clock.now()).toISOString());
    if (!(await sendRows(deps, rows, true))) return;
  }
  let cursor = (await store.delivery.status(name)).eventSeq;
  for (;;) {
    if (deps.signal.aborted) return;
    const rows = await store.delivery.trackRecordsAfter(cursor, pageSize);
    if (!rows.length) return;
    if (!(await sendRows(deps, rows, false))) return;
    cursor = rows[rows.length - 1].seq;
  }
}

/** Returns false when the pass must stop (an item still failing). */
async function sendRows(deps: PassDeps, rows: StoredTrackRecord[], retried: boolean): Promise<boolean> {
  const { store, plan, counts } = deps;
  const name = plan.dest.name;
  const work: Array<{ item: DestinationItem; row: StoredTrackRecord; bytes: number }> = [];
  const skipped: StoredTrackRecord[] = [];
  for (const row of rows) {
    const ev = row.record.event;
    const id = (await store.resolveProfileId(row.profileId)) ?? row.profileId;
    const profile = await store.profileDocument(id);
    if (!ev || !profile || (plan.where && !plan.where.matches(profile)) || (plan.purpose && !hasGrant(profile.traits, plan.purpose))) {
      skipped.push(row);
      continue;
    }
    const item: DestinationItem = {
      key: row.key,
      op: 'track',
      profile,
      event: {
        name: ev.name,
        properties: ev.properties,
        occurredAt: row.record.observedAt,
        ...(ev.revenue !== undefined ? { revenue: ev.revenue } : {}),
        ...(ev.currency ? { currency: ev.currency } : {}),
        source: row.record.source,
        stream: row.record.stream,
        recordId: row.record.recordId,
      },
    };
    work.push({ item, row, bytes: itemBytes(item) });
  }
  const base = (): DeliverySettlement => ({ ack: [], put: [], remove: [], deadLetters: [], failed: [], cleared: [] });
  for (const batch of pack(work, plan.maxBatchItems, plan.maxBatchBytes)) {
    if (deps.signal.aborted) return false;
    const s = base();
    const tooBig = batch.filter((w) => w.bytes > plan.maxItemBytes);
    const send = batch.filter((w) => w.bytes <= plan.maxItemBytes);
    for (const w of tooBig) {
      counts.failed++;
      s.deadLetters.push({ sync: name, stream: 'events', recordId: w.row.key, reason: `event is ${w.bytes} bytes; ${plan.connector.id} accepts at most ${plan.maxItemBytes}`, payload: w.item });
    }
    const results = send.length
      ? await writeWithRetry({ connector: plan.connector, ctx: deps.ctx, items: send.map((w) => w.item), retry: plan.dest.retry, counts, clock: deps.clock, signal: deps.signal })
      : [];
    const history = await store.delivery.failures(name, send.filter((_, k) => results[k].status === 'retryable').map((w) => w.row.key));
    let stop = false;
    let lastSeq = batch[batch.length - 1].row.seq;
    send.forEach((w, k) => {
      if (stop) return;
      const r = results[k];
      if (r.status === 'ok') {
        counts.delivered++;
        s.cleared.push(w.row.key);
      } else if (r.status === 'permanent') {
        counts.failed++;
        s.deadLetters.push({ sync: name, stream: 'events', recordId: w.row.key, reason: r.reason, payload: w.item });
        s.cleared.push(w.row.key);
      } else {
        const h = history.get(w.row.key);
        const runs = (h?.runs ?? 0) + 1;
        const since = h ? Date.parse(h.firstAt) : deps.clock.now();
        const limits = plan.dest.retry.deadLetterAfter;
        if (runs >= limits.runs && deps.clock.now() - since >= limits.minutes * 60_000) {
          counts.failed++;
          s.deadLetters.push({ sync: name, stream: 'events', recordId: w.row.key, reason: `still failing after ${runs} runs: ${r.reason}`, payload: w.item });
          s.cleared.push(w.row.key);
        } else {
          counts.pending++;
          s.failed.push({ item: w.row.key, reason: r.reason });
          stop = true;
          lastSeq = w.row.seq - 1;
        }
      }
    });
    if (retried) s.eventRetried = send.filter((w) => s.cleared.includes(w.row.key)).map((w) => w.row.key);
    else s.eventSeq = lastSeq;
    await store.delivery.settle(name, s, new Date(deps.clock.now()).toISOString());
    if (stop) return false;
  }
  // Every row of the page is settled (sent, dead-lettered or filtered out): the cursor moves past all of them.
  if (!retried && rows.length) await store.delivery.settle(name, { ...base(), eventSeq: rows[rows.length - 1].seq }, new Date(deps.clock.now()).toISOString());
  if (retried) await store.delivery.settle(name, { ...base(), eventRetried: skipped.map((r) => r.key) }, new Date(deps.clock.now()).toISOString());
  return true;
}
