import { getPath } from '../../core/schema/mapping.js';
import type { Logger, Metrics } from '../../core/plugin/types.js';
import type { InboundRequest, InboundResponse, InboundRoute, InboxEvent, InboxWriter } from '../../core/serve/contract.js';
import { decodeSecret } from './config.js';
import type { VerifyConfig, WebhookSourceConfig, WebhookStreamConfig } from './inbound-config.js';
import { basicVerifier, bearerVerifier } from './signatures/credential.js';
import { hmacVerifier } from './signatures/hmac.js';
import { shopifyVerifier } from './signatures/shopify.js';
import { standardWebhooksVerifier } from './signatures/standard-webhooks.js';
import { stripeVerifier } from './signatures/stripe.js';
import { header, type Verifier } from './signatures/verdict.js';

/** The verifier a `verify:` block describes (already validated by the schema). */
export function verifierFor(v: VerifyConfig): Verifier {
  switch (v.scheme) {
    case 'standard-webhooks':
      return standardWebhooksVerifier({ keys: v.secret.map((one) => decodeSecret(one) as Buffer), toleranceSeconds: v.toleranceSeconds });
    case 'stripe':
      return stripeVerifier({ secrets: v.secret, toleranceSeconds: v.toleranceSeconds });
    case 'shopify':
      return shopifyVerifier({ secrets: v.secret });
    case 'hmac-sha256':
      return hmacVerifier({ secrets: v.secret, header: v.header, encoding: v.encoding, prefix: v.prefix });
    case 'bearer':
      return bearerVerifier({ token: v.token });
    case 'basic':
      return basicVerifier({ username: v.username, password: v.password });
  }
}

/** Where a scheme's senders put the message id, unless `idHeader` / `idField` say otherwise. */
const DEFAULT_ID_FIELD: Partial<Record<VerifyConfig['scheme'], string>> = { stripe: 'id' };

export interface WebhookRouteOptions {
  /** The YAML source name: the path is `/hooks/<source>`. */
  source: string;
  stream: string;
  config: WebhookSourceConfig;
  streamConfig: WebhookStreamConfig;
  now: () => number;
  logger: Logger;
  metrics: Metrics;
}

type Parsed = { ok: true; events: InboxEvent[] } | { ok: false; status: number; error: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The message id as text: a string or a number; anything else is ignored. */
function idText(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim()) return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * The body as inbox events: one per object, or one per element of the array
 * `recordSelector` names (or of the body, when it is an array). All or
 * nothing: one element that is not an object refuses the whole request, so a
 * sender's retry never half-duplicates a batch.
 */
export function eventsOf(opts: WebhookRouteOptions, req: InboundRequest, verifiedId: string | undefined, receivedAt: string): Parsed {
  let text: string;
  try {
    text = utf8.decode(req.rawBody);
  } catch {
    return { ok: false, status: 400, error: 'the body is not valid UTF-8' };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, status: 400, error: 'the body is not valid JSON' };
  }
  if (!isObject(body) && !Array.isArray(body)) return { ok: false, status: 400, error: 'the body must be a JSON object or array' };

  const { config, streamConfig } = opts;
  const idField = config.idField ?? DEFAULT_ID_FIELD[config.verify.scheme];
  const id =
    (config.idHeader ? header(req, config.idHeader) : undefined) ??
    verifiedId ??
    (idField && isObject(body) ? idText(getPath(body, idField)) : undefined);

  let items: unknown[];
  let split: boolean;
  if (streamConfig.recordSelector) {
    const selected = isObject(body) ? getPath(body, streamConfig.recordSelector) : undefined;
    if (!Array.isArray(selected)) return { ok: false, status: 400, error: `recordSelector ${streamConfig.recordSelector} is not an array in the body` };
    items = selected;
    split = true;
  } else if (Array.isArray(body)) {
    items = body;
    split = true;
  } else {
    items = [body];
    split = false;
  }
  const events: InboxEvent[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isObject(item)) return { ok: false, status: 400, error: `record ${i} is not a JSON object` };
    const dedupKey = id === undefined ? undefined : split ? `${id}#${i}` : id;
    events.push({ source: opts.source, stream: opts.stream, ...(dedupKey === undefined ? {} : { dedupKey }), receivedAt, body: item });
  }
  return { ok: true, events };
}

/**
 * The one route of a webhook source, `POST /hooks/<source>`. Order matters:
 * the sender is verified over the raw bytes before anything is parsed, so an
 * unauthenticated request learns nothing about the body rules and nothing is
 * stored. Accepted events go to the inbox in one `append` (all or nothing),
 * and the 200 is sent only once the inbox says they are durable.
 */
export function webhookRoute(opts: WebhookRouteOptions): InboundRoute {
  const verifier = verifierFor(opts.config.verify);
  const tags = (outcome: string) => ({ source: opts.source, outcome });
  const refuse = (status: number, error: string, outcome: string): InboundResponse => {
    opts.metrics.count('webhook_requests', 1, tags(outcome));
    // The reason names a header or a rule, never a secret, a signature or the body.
    opts.logger.debug('webhook refused', { source: opts.source, status, reason: error });
    return { status, body: { error } };
  };
  return {
    method: 'POST',
    path: `/hooks/${opts.source}`,
    maxBodyBytes: opts.config.maxBodyBytes,
    async handle(req: InboundRequest, inbox: InboxWriter): Promise<InboundResponse> {
      if (req.method !== 'POST') return { status: 405, headers: { allow: 'POST' }, body: { error: 'use POST' } };
      const nowMs = opts.now();
      const verdict = verifier.verify(req, nowMs);
      if (!verdict.ok) return refuse(401, verdict.reason, 'unauthorized');
      const parsed = eventsOf(opts, req, verdict.id, new Date(nowMs).toISOString());
      if (!parsed.ok) return refuse(parsed.status, parsed.error, 'invalid');
      const result = parsed.events.length ? await inbox.append(parsed.events) : { accepted: 0, duplicates: 0 };
      opts.metrics.count('webhook_requests', 1, tags('accepted'));
      opts.metrics.count('webhook_events_accepted', result.accepted, { source: opts.source });
      if (result.duplicates) opts.metrics.count('webhook_events_duplicate', result.duplicates, { source: opts.source });
      return { status: 200, body: { accepted: result.accepted, duplicates: result.duplicates } };
    },
  };
}
