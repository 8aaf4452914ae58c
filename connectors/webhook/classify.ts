/** A Retry-After longer than this is cut to it: the engine's own schedule takes over beyond. */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;
/** How long a 429/502/504 without Retry-After pauses the destination. */
export const DEFAULT_THROTTLE_MS = 5_000;
/** Characters of the receiver's answer kept in a reason. */
export const SNIPPET_CHARS = 200;

/**
 * Milliseconds a `Retry-After` value asks to wait: delay-seconds (`120`) or an
 * HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`), clamped to 0..MAX_RETRY_AFTER_MS.
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Math.ceil(Number(v) * 1000);
  else {
    // An HTTP date names its day of week and month in letters; bare numbers were handled above.
    if (!/[a-z]/i.test(v)) return undefined;
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** What one HTTP answer means for the whole batch. */
export type Outcome =
  | { kind: 'ok' }
  | { kind: 'retryable'; reason: string; retryAfterMs?: number; pauseMs?: number }
  | { kind: 'permanent'; reason: string }
  /** 410: the endpoint is gone; the engine disables the destination. */
  | { kind: 'gone'; reason: string }
  /** No item can succeed until the config changes (rejected credentials, moved URL). */
  | { kind: 'stop'; reason: string };

export interface Answer {
  status: number;
  /** The `Retry-After` header, if any. */
  retryAfter?: string;
  /** The `Location` header of a redirect, if any. */
  location?: string;
  /** The start of the answer's body, for reasons (already redacted). */
  snippet?: string;
}

/** Collapse whitespace and cut to SNIPPET_CHARS, for a one-line reason. */
export function snippetOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > SNIPPET_CHARS ? `${flat.slice(0, SNIPPET_CHARS)}…` : flat;
}

/** A redirect target without query or fragment (they may carry tokens). */
function safeLocation(location: string | undefined): string {
  if (!location) return 'no Location';
  try {
    const u = new URL(location, 'http://relative.invalid');
    return u.host === 'relative.invalid' ? u.pathname : `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'an unreadable Location';
  }
}

/**
 * The status handling of this connector (README "Statuses"), after the
 * Standard Webhooks spec: 2xx is success and everything else a failure, 410
 * disables the endpoint, 429/502/504 throttle. On top of that: 400/413/422
 * mean the receiver refuses this body, so retrying the same bytes cannot help
 * (permanent); 401/403 mean the signature or credentials are refused (stop);
 * 301/308 mean the URL moved for good (stop: redirects are not followed).
 */
export function classify(answer: Answer, nowMs: number): Outcome {
  const { status } = answer;
  const said = answer.snippet ? `: ${answer.snippet}` : '';
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const retryAfterMs = parseRetryAfter(answer.retryAfter, nowMs);
  if (status === 410) return { kind: 'gone', reason: `receiver answered 410 Gone: the endpoint no longer accepts webhooks${said}` };
  if (status === 401 || status === 403) {
    return { kind: 'stop', reason: `receiver answered ${status}: it refuses the signature or the credentials (check secret and headers)${said}` };
  }
  if (status === 301 || status === 308) {
    return { kind: 'stop', reason: `receiver answered ${status}, moved to ${safeLocation(answer.location)}: redirects are not followed, update url` };
  }
  if (status === 429 || status === 502 || status === 504) {
    const wait = retryAfterMs ?? DEFAULT_THROTTLE_MS;
    return { kind: 'retryable', reason: `receiver answered ${status}, throttling for ${wait} ms${said}`, retryAfterMs: wait, pauseMs: wait };
  }
  if (status === 400 || status === 422) return { kind: 'permanent', reason: `receiver refused the batch with ${status}${said}` };
  if (status === 413) return { kind: 'permanent', reason: `receiver answered 413, the batch is too large: lower batchSize or maxBatchBytes${said}` };
  const reason = status >= 300 && status < 400 ? `receiver answered ${status} to ${safeLocation(answer.location)}: redirects are not followed` : `receiver answered ${status}${said}`;
  // A Retry-After on any other failure (a 503) is honoured too, destination-wide.
  return retryAfterMs === undefined ? { kind: 'retryable', reason } : { kind: 'retryable', reason, retryAfterMs, pauseMs: retryAfterMs };
}
