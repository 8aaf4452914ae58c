import { ConfigError } from '../../core/errors.js';
import { getPath } from '../../core/schema/mapping.js';
import type { ConfiguredStream, ConnectorContext, SourceConnector, SourceMessage, StreamState } from '../../core/plugin/types.js';
import type { InboxRow } from '../../core/serve/contract.js';
import { webhookSourceConfigSchema, webhookStreamConfigSchema, type WebhookSourceConfig, type WebhookStreamConfig } from './inbound-config.js';
import { webhookRoute } from './inbound-routes.js';

export interface WebhookSourceOptions {
  /** The clock for signature timestamps and receivedAt, in ms. Tests inject one. */
  now?: () => number;
}

/** Each record's envelope: where it sat in the inbox. `_webhook.seq` makes a unique primaryKey. */
export const ENVELOPE_FIELD = '_webhook';

function oneStream(ctx: ConnectorContext<WebhookSourceConfig>, streams: ConfiguredStream<WebhookStreamConfig>[]): ConfiguredStream<WebhookStreamConfig> {
  if (streams.length !== 1) {
    throw new ConfigError(`a webhook source receives one stream at /hooks/${ctx.name}; got ${streams.length} (use one source per endpoint)`, { sync: ctx.name });
  }
  return streams[0];
}

/** The seq to resume after, from a saved `{ inboxSeq }` state (the engine releases the rows it covers). */
function savedSeq(ctx: ConnectorContext<WebhookSourceConfig>, stream: string, state: StreamState | undefined): number {
  if (state === undefined) return 0;
  const seq = state.inboxSeq;
  if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0) {
    throw new ConfigError(`saved state ${JSON.stringify(state)} has no inbox seq; reset the stream's state`, { sync: ctx.name, stream });
  }
  return seq;
}

/** The record the mapping sees: the stored body, the consentFrom field, and the envelope. */
export function recordData(row: InboxRow, streamConfig: WebhookStreamConfig): Record<string, unknown> {
  const data: Record<string, unknown> = { ...row.body };
  const c = streamConfig.consentFrom;
  if (c) {
    const v = getPath(row.body, c.field);
    if (typeof v === 'string') {
      if (c.withdraw.includes(v)) data[c.as] = false;
      else if (c.grant.includes(v)) data[c.as] = true;
    }
  }
  data[ENVELOPE_FIELD] = { seq: row.seq, id: row.dedupKey ?? null, receivedAt: row.receivedAt };
  return data;
}

/**
 * The `webhook` source: pushed events in, through the store's inbox.
 * `inbound` gives `tributary serve` one route, `POST /hooks/<source name>`,
 * which verifies the sender and appends the body's records to the inbox before
 * answering 200. `read` drains the inbox after the checkpointed seq, a page at
 * a time, yielding `{ inboxSeq }` after each page so the engine commits the
 * records and the checkpoint together; the YAML mapping applies there, as for
 * any polled source.
 */
export function createWebhookSource(options: WebhookSourceOptions = {}): SourceConnector<WebhookSourceConfig, WebhookStreamConfig> {
  const now = options.now ?? Date.now;
  return {
    id: 'webhook',
    kind: 'source',
    incrementalWithoutCursor: true,
    drainsInbox: true,
    spec: {
      config: webhookSourceConfigSchema,
      stream: webhookStreamConfigSchema,
      secrets: ['verify.secret', 'verify.token', 'verify.password'],
    },
    async check(ctx, streams) {
      if (streams && streams.length !== 1) {
        return { ok: false, message: `a webhook source receives one stream at /hooks/${ctx.name}; got ${streams.length} (use one source per endpoint)` };
      }
      return { ok: true };
    },
    async discover(_ctx, streams) {
      return (streams ?? [{ name: 'events' }]).map((s) => ({
        name: s.name,
        fields: {
          [`${ENVELOPE_FIELD}.seq`]: { type: ['integer'] },
          [`${ENVELOPE_FIELD}.id`]: { type: ['string', 'null'] },
          [`${ENVELOPE_FIELD}.receivedAt`]: { type: ['string'], format: 'date-time' },
        },
        primaryKey: [`${ENVELOPE_FIELD}.seq`],
        cursorCandidates: [],
        supportedModes: ['incremental', 'full_refresh'],
      }));
    },
    inbound(ctx, streams) {
      const stream = oneStream(ctx, streams);
      return [webhookRoute({ source: ctx.name, stream: stream.name, config: ctx.config, streamConfig: stream.config, now, logger: ctx.logger, metrics: ctx.metrics })];
    },
    read: (ctx, streams, state) => drain(ctx, streams, state),
  };
}

async function* drain(
  ctx: ConnectorContext<WebhookSourceConfig>,
  streams: ConfiguredStream<WebhookStreamConfig>[],
  state: Record<string, StreamState | undefined>,
): AsyncGenerator<SourceMessage> {
  const inbox = ctx.inbox;
  if (!inbox) {
    throw new ConfigError('this webhook source drains the store\'s inbox, which only sync runs provide (tributary run / sync)', { sync: ctx.name });
  }
  const { pageSize, maxPerRun } = ctx.config;
  for (const stream of streams) {
    // full_refresh re-reads every event the inbox still holds.
    let after = stream.mode === 'full_refresh' ? 0 : savedSeq(ctx, stream.name, state[stream.name]);
    let read = 0;
    let paged = false;
    while (read < maxPerRun && !ctx.signal.aborted) {
      const rows = await inbox.read(ctx.name, { afterSeq: after, limit: Math.min(pageSize, maxPerRun - read), stream: stream.name });
      if (!rows.length) break;
      for (const row of rows) {
        yield { type: 'record', stream: stream.name, data: recordData(row, stream.config), origin: `/hooks/${ctx.name} inbox seq ${row.seq}` };
      }
      after = rows[rows.length - 1].seq;
      read += rows.length;
      paged = true;
      yield { type: 'state', stream: stream.name, state: { inboxSeq: after } };
      if (rows.length < pageSize) break;
    }
    if (!paged) yield { type: 'state', stream: stream.name, state: { inboxSeq: after } };
  }
}

export const webhookSource = createWebhookSource();
