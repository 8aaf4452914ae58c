import { ConnectionError } from '../../core/errors.js';
import type { DestinationContext, WriteResult } from '../../core/plugin/types.js';
import type { BrevoConfig } from './config.js';
import type { BrevoBudget, Exchange } from './http.js';

export type Failure = Exclude<WriteResult, { status: 'ok' }>;

/** Brevo's error codes that no retry can fix: the request itself is wrong. */
const PERMANENT_CODES = new Set(['duplicate_parameter', 'invalid_parameter', 'missing_parameter', 'out_of_range', 'not_acceptable', 'method_not_allowed', 'account_under_validation', 'not_enough_credits', 'permission_denied']);

/** `{code, message}` of a Brevo error body, when it has one. */
export function brevoErrorBody(ex: Exchange): { code?: string; message?: string } {
  if (ex.kind !== 'response' || !ex.isJson || !ex.json || typeof ex.json !== 'object') return {};
  const b = ex.json as Record<string, unknown>;
  return { code: typeof b.code === 'string' ? b.code : undefined, message: typeof b.message === 'string' ? b.message : undefined };
}

/** "Brevo 400 invalid_parameter: Invalid email address (POST /contacts)", one line. */
export function describeAnswer(ex: Exchange, what: string): string {
  if (ex.kind === 'transport') return `${what}: ${ex.reason}`;
  if (!ex.isJson) return `${what}: Brevo answered ${ex.status} with ${ex.contentType} instead of JSON`;
  const { code, message } = brevoErrorBody(ex);
  const detail = [code, message].filter(Boolean).join(': ');
  return `${what}: Brevo answered ${ex.status}${detail ? ` ${detail}` : ''}`;
}

/** Milliseconds until Brevo's window resets, from `x-sib-ratelimit-reset` (seconds); at least one second. */
export function resetMs(ex: Exchange): number {
  if (ex.kind !== 'response') return 1000;
  const s = Number(ex.headers['x-sib-ratelimit-reset']);
  return Number.isFinite(s) && s > 0 ? Math.ceil(s * 1000) : 1000;
}

export function redact(text: string, config: BrevoConfig): string {
  return config.apiKey.length >= 4 ? text.split(config.apiKey).join('***') : text;
}

/**
 * The rejected-credential error that stops the run: one line, no key.
 * 401 (unknown or revoked key) and 403 (key without permission, IP not allowed) can never pass by retrying.
 */
export function credentialError(ex: Exchange, ctx: { name: string; config: BrevoConfig }, what: string): ConnectionError {
  const line = redact(`Brevo rejected the API key of destination ${ctx.name} (${describeAnswer(ex, what)}); check apiKey`, ctx.config);
  return new ConnectionError(line, {}, { retryable: false });
}

/**
 * What a failed answer means for one item. Throws only for a rejected key.
 * A 429 also pauses the budget for everyone (`ctx.rate.pause`) until Brevo's reset.
 */
export function classifyFailure(ex: Exchange, ctx: DestinationContext<BrevoConfig>, budget: BrevoBudget, what: string): Failure {
  const reason = redact(describeAnswer(ex, what), ctx.config);
  if (ex.kind === 'transport') return { status: 'retryable', reason };
  if (!ex.isJson) return { status: 'retryable', reason };
  const { code } = brevoErrorBody(ex);
  if (ex.status === 401 || ex.status === 403) throw credentialError(ex, ctx, what);
  if (ex.status === 429) {
    const ms = resetMs(ex);
    ctx.rate.pause(ms, budget);
    return { status: 'retryable', reason, retryAfterMs: ms };
  }
  if (ex.status === 425 || ex.status === 408 || ex.status >= 500) return { status: 'retryable', reason };
  if (code && PERMANENT_CODES.has(code)) return { status: 'permanent', reason };
  if (ex.status >= 400 && ex.status < 500) return { status: 'permanent', reason };
  // A 1xx/3xx here is not Brevo's contract (a redirecting proxy): try again later rather than guess.
  return { status: 'retryable', reason };
}

export function isSuccess(ex: Exchange): boolean {
  return ex.kind === 'response' && ex.status >= 200 && ex.status < 300 && ex.isJson;
}

export function isNotFound(ex: Exchange): boolean {
  return ex.kind === 'response' && ex.status === 404 && ex.isJson;
}

/** The JSON object of a response, `{}` when there is none. */
export function jsonOf(ex: Exchange): Record<string, unknown> {
  return ex.kind === 'response' && ex.json && typeof ex.json === 'object' ? (ex.json as Record<string, unknown>) : {};
}
