import { createHash } from 'node:crypto';
import type { InboundRequest, InboundResponse, InboxEvent, InboxWriter } from '../contract.js';
import type { ServeMetrics } from '../metrics.js';
import { SEGMENT_LIMITS, SEGMENT_TYPES, checkMessage } from './segment.js';

/** A tracking source as the server routes to it: its name and the streams it has (one per Segment type). */
export interface TrackingTarget {
  source: string;
  streams: Set<string>;
}

/**
 * Write key -> source. Keys are kept only as SHA-256 digests, so a lookup
 * compares digests (no timing on the key itself) and no key sits in memory
 * where a heap dump or a log line could show it.
 */
export class WriteKeys {
  private readonly byDigest = new Map<string, TrackingTarget>();

  add(key: string, target: TrackingTarget): void {
    this.byDigest.set(digest(key), target);
  }

  find(key: string | undefined): TrackingTarget | undefined {
    return key ? this.byDigest.get(digest(key)) : undefined;
  }

  get size(): number {
    return this.byDigest.size;
  }
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The write key from `Authorization: Basic base64(key:)`, if any. */
export function basicAuthUser(header: string | undefined): string | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header) : null;
  if (!m) return undefined;
  const text = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? text : text.slice(0, colon);
}

const json = (status: number, body: unknown, headers?: Record<string, string>): InboundResponse => ({ status, body, headers });

export interface TrackingDeps {
  keys: WriteKeys;
  inbox: InboxWriter;
  metrics: ServeMetrics;
  now?: () => number;
}

/** `POST /v1/<type>` and `/v1/batch`: authenticate, check every message, append all or nothing. */
export async function handleTracking(req: InboundRequest, deps: TrackingDeps): Promise<InboundResponse> {
  const kind = req.path.slice('/v1/'.length);
  const isBatch = kind === 'batch' || kind === 'import';
  if (!isBatch && !(SEGMENT_TYPES as readonly string[]).includes(kind)) return json(404, { error: 'not found' });
  const refuse = (status: 400 | 401 | 413, error: string, n = 1) => {
    deps.metrics.eventsRefused.inc({ reason: String(status) }, n);
    return json(status, { error });
  };
  if (!isBatch && req.rawBody.length > SEGMENT_LIMITS.eventBytes) return refuse(413, `an event may be at most ${SEGMENT_LIMITS.eventBytes} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(req.rawBody.toString('utf8'));
  } catch {
    return refuse(400, 'the body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse(400, 'expected a JSON object');
  const b = body as Record<string, unknown>;
  const key = basicAuthUser(req.headers.authorization) ?? (typeof b.writeKey === 'string' ? b.writeKey : undefined);
  const target = deps.keys.find(key);
  if (!target) return refuse(401, key ? 'unknown write key' : 'a write key is required (basic auth user name, or writeKey in the body)');

  const receivedAt = (deps.now ?? Date.now)();
  let raws: unknown[];
  if (isBatch) {
    if (!Array.isArray(b.batch)) return refuse(400, 'batch: expected a list of messages');
    if (b.batch.length > SEGMENT_LIMITS.batchEvents) return refuse(413, `a batch may hold at most ${SEGMENT_LIMITS.batchEvents} events`, b.batch.length);
    raws = b.batch;
  } else raws = [b];

  const events: InboxEvent[] = [];
  let ignored = 0;
  const at = new Date(receivedAt).toISOString();
  for (let i = 0; i < raws.length; i++) {
    const where = isBatch ? `batch[${i}]` : kind;
    const checked = checkMessage(raws[i], isBatch ? undefined : kind, receivedAt, where, b.sentAt);
    // One bad message refuses the whole request: the client sees it, nothing is dropped in silence.
    if (!checked.ok) return refuse(checked.status, checked.error, raws.length);
    // Each event's own size, as the spec limits it, measured on what is stored (serialized once).
    const bodyJson = JSON.stringify(checked.message);
    if (isBatch && bodyJson.length * 3 > SEGMENT_LIMITS.eventBytes && Buffer.byteLength(bodyJson) > SEGMENT_LIMITS.eventBytes) {
      return refuse(413, `${where}: an event may be at most ${SEGMENT_LIMITS.eventBytes} bytes`, raws.length);
    }
    const type = checked.message.type as string;
    if (!target.streams.has(type)) {
      ignored++;
      continue;
    }
    events.push({ source: target.source, stream: type, dedupKey: checked.message.messageId as string, receivedAt: at, body: checked.message, bodyJson });
  }
  if (ignored) deps.metrics.eventsRefused.inc({ reason: 'no_stream' }, ignored);
  const r = await deps.inbox.append(events);
  deps.metrics.eventsAccepted.inc({ source: target.source }, r.accepted);
  if (r.duplicates) deps.metrics.eventsDuplicate.inc({ source: target.source }, r.duplicates);
  return json(200, { ok: true, accepted: r.accepted, duplicates: r.duplicates, ...(ignored ? { ignored } : {}) });
}
