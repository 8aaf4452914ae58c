import { randomUUID } from 'node:crypto';

/** The Segment HTTP tracking API's message types, each its own endpoint and stream. */
export const SEGMENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** Limits of the Segment HTTP spec. */
export const SEGMENT_LIMITS = { eventBytes: 32 * 1024, batchBytes: 500 * 1024, batchEvents: 2500 } as const;

export type Checked =
  | { ok: true; message: Record<string, unknown> }
  | { ok: false; status: 400 | 413; error: string };

const TYPES: ReadonlySet<string> = new Set(SEGMENT_TYPES);

/** The ISO text of a time, remembered for the last one asked: every message of a request shares its receivedAt. */
let lastMs = NaN;
let lastIso = '';
function iso(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function present(v: unknown): boolean {
  return (typeof v === 'string' && v.trim() !== '') || (typeof v === 'number' && Number.isFinite(v));
}

function time(v: unknown): number | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const t = typeof v === 'number' ? v : Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * When the event happened, per the spec: an explicit `timestamp` wins; else
 * `originalTimestamp` corrected for the device's clock skew
 * (`receivedAt - (sentAt - originalTimestamp)`); else `receivedAt`.
 */
export function eventTime(msg: Record<string, unknown>, receivedAt: number, batchSentAt?: unknown): string {
  const ts = time(msg.timestamp);
  if (ts !== undefined) return new Date(ts).toISOString();
  const original = time(msg.originalTimestamp);
  const sentAt = time(msg.sentAt) ?? time(batchSentAt);
  if (original !== undefined && sentAt !== undefined) return new Date(receivedAt - (sentAt - original)).toISOString();
  if (original !== undefined) return new Date(original).toISOString();
  return iso(receivedAt);
}

/**
 * Check one message of type `type` (from the path, or its own `type` in a batch)
 * and return it stamped with `type`, a `messageId` (generated when the client
 * sent none, so the record still has a key), `receivedAt` and the corrected
 * `timestamp`. The original fields stay as they were sent.
 */
export function checkMessage(raw: unknown, type: string | undefined, receivedAt: number, where: string, batchSentAt?: unknown): Checked {
  if (!isObject(raw)) return { ok: false, status: 400, error: `${where}: expected a JSON object` };
  const t = type ?? raw.type;
  if (typeof t !== 'string' || !TYPES.has(t)) {
    return { ok: false, status: 400, error: `${where}: type must be one of ${SEGMENT_TYPES.join(', ')}` };
  }
  if (!present(raw.userId) && !present(raw.anonymousId)) return { ok: false, status: 400, error: `${where}: userId or anonymousId is required` };
  if (t === 'track' && !present(raw.event)) return { ok: false, status: 400, error: `${where}: track needs an event name` };
  if (t === 'alias' && (!present(raw.userId) || !present(raw.previousId))) return { ok: false, status: 400, error: `${where}: alias needs userId and previousId` };
  if (t === 'group' && !present(raw.groupId)) return { ok: false, status: 400, error: `${where}: group needs a groupId` };
  for (const k of ['traits', 'properties', 'context'] as const) {
    if (raw[k] !== undefined && raw[k] !== null && !isObject(raw[k])) return { ok: false, status: 400, error: `${where}: ${k} must be an object` };
  }
  if (raw.messageId !== undefined && !present(raw.messageId)) return { ok: false, status: 400, error: `${where}: messageId must be a non-empty string` };
  // The parsed request is ours: stamped in place rather than copied.
  const message = raw;
  message.type = t;
  if (message.writeKey !== undefined) delete message.writeKey;
  message.messageId = present(raw.messageId) ? String(raw.messageId) : `srv-${randomUUID()}`;
  message.receivedAt = iso(receivedAt);
  message.timestamp = eventTime(raw, receivedAt, batchSentAt);
  return { ok: true, message };
}

/**
 * The flat shape the tracking source yields for each stored message, what YAML
 * mappings name: every top-level field is present (null when the client sent
 * none). `traits` are `context.traits` overlaid with `traits`; `consent` is
 * `context.consent.categoryPreferences` (purpose -> boolean).
 */
export function flatten(msg: Record<string, unknown>): Record<string, unknown> {
  const context = isObject(msg.context) ? msg.context : {};
  const traits = { ...(isObject(context.traits) ? context.traits : {}), ...(isObject(msg.traits) ? msg.traits : {}) };
  const consentIn = isObject(context.consent) && isObject(context.consent.categoryPreferences) ? context.consent.categoryPreferences : {};
  const str = (v: unknown) => (present(v) ? String(v) : null);
  return {
    messageId: msg.messageId,
    type: msg.type,
    userId: str(msg.userId),
    anonymousId: str(msg.anonymousId),
    previousId: str(msg.previousId),
    groupId: str(msg.groupId),
    event: str(msg.event) ?? (msg.type === 'page' || msg.type === 'screen' ? str(msg.name) ?? msg.type : null),
    name: str(msg.name),
    email: str(traits.email),
    timestamp: msg.timestamp,
    receivedAt: msg.receivedAt,
    sentAt: msg.sentAt ?? null,
    traits,
    properties: isObject(msg.properties) ? msg.properties : {},
    consent: consentIn,
    ip: str(context.ip),
    userAgent: str(context.userAgent),
    page: isObject(context.page) ? context.page : null,
    context,
  };
}
