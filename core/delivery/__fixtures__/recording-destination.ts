import { z } from 'zod';
import { ConnectionError, DestinationGoneError } from '../../errors.js';
import { definePlugin } from '../../plugin/define-plugin.js';
import { PLUGIN_API_VERSION, type DestinationConnector, type DestinationItem, type WriteResult } from '../../plugin/types.js';
import { inlineSource } from '../../../test/kit/inline-source.js';

/** A scripted answer to one write call: one result for all items, or per item. */
export type Answer = WriteResult | ((item: DestinationItem) => WriteResult) | 'unauthorized' | 'gone' | 'throw';

/**
 * A destination that really holds what it is sent (by ref), counts every write
 * call and every rate-gate take, and answers as a test scripts it: the next
 * calls' answers come from `script`, then everything is ok.
 */
export function recordingDestination(
  opts: { canDelete?: boolean; events?: boolean; maxItemBytes?: number; maxBatchBytes?: number; keyBy?: 'id' | 'email'; withdraw?: 'mark' | 'delete' } = {},
) {
  const held = new Map<string, unknown>();
  const calls: DestinationItem[][] = [];
  const events: DestinationItem[] = [];
  /** ref -> purpose withdrawn (`op: 'withdraw'` items). */
  const withdrawn = new Map<string, string>();
  const script: Answer[] = [];
  let takes = 0;
  const refOf = (item: DestinationItem) =>
    opts.keyBy === 'email' && item.profile ? `email:${String(item.payload?.EMAIL ?? item.profile.traits.email)}` : item.key;
  const connector: DestinationConnector<{ note?: string }> = {
    id: 'recording',
    kind: 'destination',
    delivery: 'incremental',
    spec: { config: z.object({ note: z.string().optional() }) },
    capabilities: { delete: opts.canDelete ?? true, events: opts.events ?? true, ...(opts.withdraw ? { withdraw: opts.withdraw } : {}) },
    budgets: { default: { perSecond: 5 } },
    limits: { maxItemBytes: opts.maxItemBytes, maxBatchBytes: opts.maxBatchBytes },
    mapping: { names: /^[A-Z][A-Z0-9_]*$/, describe: 'upper-case names' },
    ref: (item) => refOf(item),
    async check() {
      return { ok: true };
    },
    async write(ctx, batch) {
      await ctx.rate.take();
      takes++;
      calls.push(batch);
      const answer = script.shift();
      if (answer === 'unauthorized') throw new ConnectionError('recording: api key rejected (401)', {}, { retryable: false });
      if (answer === 'gone') throw new DestinationGoneError('recording: endpoint answered 410 Gone');
      if (answer === 'throw') throw new Error('socket hang up');
      return batch.map((item) => {
        const r: WriteResult = answer === undefined ? { status: 'ok' } : typeof answer === 'function' ? answer(item) : answer;
        if (r.status !== 'ok') return r;
        if (item.op === 'delete') held.delete(item.previous!.ref);
        else if (item.op === 'track') events.push(item);
        else if (item.op === 'withdraw') withdrawn.set(item.previous!.ref, item.purpose!);
        else {
          held.set(refOf(item), item.payload ?? item.profile);
          withdrawn.delete(refOf(item));
        }
        return r;
      });
    },
  };
  return {
    connector,
    held,
    withdrawn,
    calls,
    events,
    script,
    get takes() {
      return takes;
    },
    plugin: definePlugin({ name: 'delivery-test', version: '0.0.0', apiVersion: PLUGIN_API_VERSION, sources: [inlineSource], destinations: [connector] }),
  };
}

/** A clock whose sleep advances time at once, and remembers every wait. */
export function fakeClock(start = Date.parse('2026-06-01T00:00:00Z')) {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
    async sleep(ms: number) {
      sleeps.push(ms);
      t += Math.max(0, ms);
    },
  };
}
