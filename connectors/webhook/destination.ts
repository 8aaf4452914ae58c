import type { Readable } from 'node:stream';
import axios from 'axios';
import { ConfigError, ConnectionError, DestinationGoneError } from '../../core/errors.js';
import type { DestinationConnector, DestinationContext, WriteResult } from '../../core/plugin/types.js';
import { buildBody, prepareItem, type WireItem } from './body.js';
import { checkEndpoint, describeUrl } from './check.js';
import { classify, snippetOf, type Outcome } from './classify.js';
import { decodeSecret, webhookConfigSchema, type WebhookConfig } from './config.js';
import { signV1, unixSeconds, webhookId } from './sign.js';

/** Default per-call limits; YAML `batchSize` / `maxBatchBytes` may lower them. */
export const WEBHOOK_LIMITS = { maxBatchItems: 100, maxBatchBytes: 1024 * 1024, maxItemBytes: 256 * 1024 };
/** Bytes of an error answer read for the reason; the rest is discarded unread. */
const ANSWER_READ_BYTES = 4096;

export interface WebhookDestinationOptions {
  /** Wall clock for `webhook-timestamp`, in ms. Default `Date.now`. */
  now?: () => number;
}

/** Replace every configured secret value (signing secret, header values) in a text with `***`. */
function redactor(config: WebhookConfig): (text: string) => string {
  const values = [config.secret, config.secret.slice('whsec_'.length), ...Object.values(config.headers)]
    .filter((v) => v.length >= 4)
    .sort((a, b) => b.length - a.length);
  return (text) => values.reduce((t, v) => t.split(v).join('***'), text);
}

/** The start of a response body as text, never more than ANSWER_READ_BYTES; a broken stream yields what arrived. */
async function readStart(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      chunks.push(b);
      size += b.length;
      if (size >= ANSWER_READ_BYTES) break;
    }
  } catch {
    // The status decides the outcome; a body cut short only shortens the reason.
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, ANSWER_READ_BYTES).toString('utf8');
}

interface Attempt {
  id: string;
  body: string;
}

/**
 * One signed POST. Axios (the project's HTTP client) with `validateStatus` off
 * so every status reaches `classify`, no redirects (Standard Webhooks: a 3xx is
 * a failure), and the body as a stream so a large answer is never buffered.
 * The deadline is an AbortController rather than axios' `timeout`, which only
 * bounds socket inactivity.
 */
async function post(ctx: DestinationContext<WebhookConfig>, key: Buffer, attempt: Attempt, now: () => number): Promise<Outcome> {
  const { config } = ctx;
  const redact = redactor(config);
  const timestamp = unixSeconds(now());
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, config.timeoutMs);
  const onAbort = () => ac.abort();
  // A listener added to an already aborted signal never fires.
  if (ctx.signal.aborted) ac.abort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const res = await axios.request<Readable>({
      method: 'POST',
      url: config.url,
      data: attempt.body,
      transformRequest: [(d: string) => d],
      headers: {
        ...config.headers,
        'content-type': 'application/json',
        'user-agent': 'tributary-webhook/0.1',
        'webhook-id': attempt.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signV1({ key, id: attempt.id, timestamp, body: attempt.body }),
      },
      responseType: 'stream',
      validateStatus: () => true,
      maxRedirects: 0,
      signal: ac.signal,
    });
    const header = (name: string) => {
      const v: unknown = res.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const ok = res.status >= 200 && res.status < 300;
    // A 2xx answer may be anything (HTML, empty): it is not read at all.
    const text = ok ? (res.data.destroy(), '') : await readStart(res.data);
    ctx.metrics.count('webhook.responses', 1, { status: String(res.status) });
    return classify({ status: res.status, retryAfter: header('retry-after'), location: header('location'), snippet: text ? redact(snippetOf(text)) : undefined }, now());
  } catch (err) {
    if (timedOut) return { kind: 'retryable', reason: `no answer from ${describeUrl(config.url)} within ${config.timeoutMs} ms` };
    if (ctx.signal.aborted) return { kind: 'retryable', reason: 'delivery aborted before the receiver answered' };
    const code = (err as { code?: string }).code ?? 'error';
    const message = err instanceof Error ? err.message : String(err);
    return { kind: 'retryable', reason: redact(`request to ${describeUrl(config.url)} failed (${code}): ${message}`) };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Build a `webhook` destination. Export the default instance (`webhookDestination`);
 * call this only to inject a clock (tests of the signed timestamp).
 *
 * @example
 * const dest = createWebhookDestination({ now: () => Date.parse('2026-01-01T00:00:00Z') });
 */
export function createWebhookDestination(options: WebhookDestinationOptions = {}): DestinationConnector<WebhookConfig> {
  const now = options.now ?? Date.now;
  return {
    id: 'webhook',
    kind: 'destination',
    delivery: 'incremental',
    spec: { config: webhookConfigSchema, secrets: ['secret', 'headers'] },
    capabilities: { delete: true, events: true, withdraw: 'mark' },
    // Any JSON key: the mapped payload is the item's `data` (see README, body format).
    mapping: { describe: 'JSON keys' },
    budgets: { default: { perSecond: 20 } },
    limits: WEBHOOK_LIMITS,

    check: (ctx) => checkEndpoint(ctx.config),

    async write(ctx, batch) {
      const key = decodeSecret(ctx.config.secret);
      if (typeof key === 'string') throw new ConfigError(`secret: ${key}`, { sync: ctx.name, path: 'secret' });
      const results: WriteResult[] = new Array<WriteResult>(batch.length);
      const sent: number[] = [];
      const wires: WireItem[] = [];
      const jsons: string[] = [];
      batch.forEach((item, i) => {
        const p = prepareItem(item);
        if (!p.ok) {
          results[i] = p.result;
          return;
        }
        sent.push(i);
        wires.push(p.wire);
        jsons.push(p.json);
      });
      if (sent.length === 0) return results;

      const id = webhookId(ctx.name, wires);
      const attempt = { id, body: buildBody({ id, destination: ctx.name, items: jsons }) };
      await ctx.rate.take();
      const outcome = await post(ctx, key, attempt, now);

      const context = { sync: ctx.name };
      let shared: WriteResult;
      switch (outcome.kind) {
        case 'ok':
          shared = { status: 'ok' };
          break;
        case 'gone':
          throw new DestinationGoneError(`${describeUrl(ctx.config.url)}: ${outcome.reason}`, context);
        case 'stop':
          throw new ConnectionError(`${describeUrl(ctx.config.url)}: ${outcome.reason}`, context, { retryable: false });
        case 'permanent':
          shared = { status: 'permanent', reason: outcome.reason };
          break;
        case 'retryable':
          if (outcome.pauseMs) ctx.rate.pause(outcome.pauseMs);
          ctx.logger.warn(`webhook ${ctx.name}: ${outcome.reason}`, { webhookId: id, items: sent.length });
          shared = outcome.retryAfterMs === undefined ? { status: 'retryable', reason: outcome.reason } : { status: 'retryable', reason: outcome.reason, retryAfterMs: outcome.retryAfterMs };
          break;
      }
      for (const i of sent) results[i] = shared;
      return results;
    },
  };
}

/** The `webhook` destination: batches of profiles and events POSTed as signed JSON. See README.md. */
export const webhookDestination = createWebhookDestination();
