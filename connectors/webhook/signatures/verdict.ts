import { createHash, timingSafeEqual } from 'node:crypto';
import type { InboundRequest } from '../../../core/serve/contract.js';

/**
 * What a verifier decides about one request. `reason` is sent back to the
 * sender and may be logged, so it never contains a secret, a signature we
 * computed, or the body.
 */
export type Verdict = { ok: true; id?: string } | { ok: false; reason: string };

/** One verification scheme, bound to its configured secret. */
export interface Verifier {
  /** `nowMs`: the receive time, injected so the timestamp window can be tested. */
  verify(req: InboundRequest, nowMs: number): Verdict;
}

/**
 * Constant-time comparison of two texts (signatures as the sender encodes
 * them). The length of a MAC's encoding is public, so a length mismatch may
 * return early; equal lengths go through crypto.timingSafeEqual.
 */
export function sameText(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Constant-time comparison of a credential (a bearer token, a password) whose
 * length is itself secret: both sides are hashed first, so the comparison is on
 * equal-length digests and reveals neither the length nor a prefix.
 */
export function sameSecret(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/**
 * Does `given` equal any of `expected`? Every pair is compared (no early
 * exit), so the time taken does not tell which secret, or which of several
 * signatures, matched.
 */
export function anySame(expected: string[], given: string[]): boolean {
  let matched = false;
  for (const e of expected) for (const g of given) if (sameText(e, g)) matched = true;
  return matched;
}

/** A header value, trimmed; undefined when absent or blank. */
export function header(req: InboundRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()]?.trim();
  return v ? v : undefined;
}

/** Is a Unix-seconds timestamp within `toleranceSeconds` of now (either side)? */
export function withinTolerance(seconds: number, nowMs: number, toleranceSeconds: number): boolean {
  return Math.abs(nowMs / 1000 - seconds) <= toleranceSeconds;
}

/** Integer Unix seconds as senders write them, or undefined. */
export function parseUnixSeconds(text: string): number | undefined {
  if (!/^\d{1,12}$/.test(text)) return undefined;
  return Number(text);
}
