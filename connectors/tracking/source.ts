import { ConfigError } from '../../core/errors.js';
import type { SourceConnector, SourceMessage, StreamDescriptor } from '../../core/plugin/types.js';
import { SEGMENT_TYPES, flatten } from '../../core/serve/tracking/segment.js';
import { inboxSeqOf } from '../../core/store/sqlite-inbox.js';
import { trackingConfig, type TrackingConfig } from './config.js';

const FIELDS: StreamDescriptor['fields'] = Object.fromEntries(
  ['messageId', 'type', 'userId', 'anonymousId', 'previousId', 'groupId', 'event', 'name', 'email', 'ip', 'userAgent'].map((f) => [f, { type: ['string', 'null'] }]),
);
for (const f of ['timestamp', 'receivedAt', 'sentAt']) FIELDS[f] = { type: ['string', 'null'], format: 'date-time' };
for (const f of ['traits', 'properties', 'consent', 'page', 'context']) FIELDS[f] = { type: ['object', 'null'] };

/**
 * The Segment-compatible tracking API as a source. `tributary serve` accepts
 * `POST /v1/identify|track|page|screen|group|alias|batch` for this source's
 * write keys and stores each message in the inbox, in the stream named after
 * its type; `read` drains the inbox in seq order and checkpoints `{ inboxSeq }`.
 */
export const trackingSource: SourceConnector<TrackingConfig> = {
  id: 'tracking',
  kind: 'source',
  spec: { config: trackingConfig, secrets: ['writeKeys'] },
  incrementalWithoutCursor: true,
  drainsInbox: true,

  async check(ctx, streams) {
    const bad = (streams ?? []).find((s) => !(SEGMENT_TYPES as readonly string[]).includes(s.name));
    if (bad) return { ok: false, message: `stream ${bad.name}: tracking streams are named after the message type (${SEGMENT_TYPES.join(', ')})` };
    return { ok: true, message: ctx.inbox ? undefined : 'events arrive through `tributary serve`' };
  },

  async discover() {
    return SEGMENT_TYPES.map((name) => ({ name, fields: FIELDS, primaryKey: ['messageId'], cursorCandidates: [], supportedModes: ['incremental' as const] }));
  },

  async *read(ctx, streams, state): AsyncIterable<SourceMessage> {
    for (const s of streams) {
      if (!(SEGMENT_TYPES as readonly string[]).includes(s.name)) {
        throw new ConfigError(`stream ${s.name}: tracking streams are named after the message type (${SEGMENT_TYPES.join(', ')})`, { sync: ctx.name, stream: s.name });
      }
    }
    if (!ctx.inbox) throw new ConfigError('the tracking source drains the store inbox; this store has none', { sync: ctx.name });
    // Every stream reads the one seq order; a stream is never behind the slowest checkpoint.
    const seqs = new Map(streams.map((s) => [s.name, s.mode === 'full_refresh' ? 0 : (inboxSeqOf(state[s.name]) ?? 0)]));
    let after = Math.min(...seqs.values());
    for (;;) {
      if (ctx.signal.aborted) return;
      const rows = await ctx.inbox.read(ctx.name, { afterSeq: after, limit: ctx.config.drainBatch });
      if (!rows.length) return;
      for (const r of rows) {
        if ((seqs.get(r.stream) ?? Infinity) >= r.seq) continue;
        yield { type: 'record', stream: r.stream, data: flatten(r.body), origin: `inbox #${r.seq}` };
      }
      after = rows[rows.length - 1].seq;
      for (const s of streams) {
        if (seqs.get(s.name)! < after) {
          seqs.set(s.name, after);
          yield { type: 'state', stream: s.name, state: { inboxSeq: after } };
        }
      }
    }
  },
};
