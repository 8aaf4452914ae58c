import axios from 'axios';
import { ConnectionError, type ErrorContext } from '../../core/errors.js';
import type { DeliveryClock } from '../../core/delivery/rate-limit.js';
import { backoffDelay } from '../../core/engine/retry.js';
import type { Metrics, RateGate } from '../../core/plugin/types.js';
import { limitStop, SourceBudget, type SavedBudget } from './budget.js';
import type { HttpConfig } from './config.js';
import { ClientCredentialsToken } from './oauth2.js';

export interface HttpRequest {
  /** Absolute URL (it may already carry a query: a next URL from the API). */
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  query: Record<string, string>;
  body?: unknown;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Where a request went, without its query string (it may carry an API key or a signed token). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

const snippet = (text: string) => JSON.stringify(text.replace(/\s+/g, ' ').trim().slice(0, 120));

/** Milliseconds a 429/5xx asks us to wait: `Retry-After` (seconds or a date), else the configured reset header (seconds). */
export function retryAfterMs(headers: Record<string, string>, now: number, resetHeader?: string): number | undefined {
  const ra = headers['retry-after'];
  if (ra !== undefined && ra !== '') {
    if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.ceil(Number(ra) * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = resetHeader ? headers[resetHeader.toLowerCase()] : undefined;
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset.trim())) return Math.ceil(Number(reset) * 1000);
  return undefined;
}

function plainHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((h ?? {}) as Record<string, unknown>)) {
    if (v !== undefined && v !== null) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/**
 * The request budget of one source (`rateLimit`), shared by all its streams. A
 * wait past `maxWaitMs` (an hourly or daily quota used up) ends the run instead
 * of idling. `saved` is the budget an earlier run left in the state.
 */
export function requestBudget(config: HttpConfig, clock: DeliveryClock, signal: AbortSignal, context: ErrorContext, saved?: SavedBudget): SourceBudget {
  return new SourceBudget(config, clock, signal, context, saved);
}

/**
 * Sends requests within the request budget, retrying 429, 5xx and transport
 * failures with backoff and jitter (a `Retry-After` wins). Answers only 2xx
 * JSON; everything else becomes a ConnectionError that names the URL (never
 * its query) and says what to do.
 */
export class HttpClient {
  private readonly limiter: RateGate;
  private readonly oauth?: ClientCredentialsToken;

  constructor(
    private readonly opts: { config: HttpConfig; clock: DeliveryClock; signal: AbortSignal; metrics: Metrics; context: ErrorContext; limiter?: RateGate },
  ) {
    this.limiter = opts.limiter ?? requestBudget(opts.config, opts.clock, opts.signal, opts.context);
    const auth = opts.config.auth;
    if (auth.type === 'oauth2_client_credentials') {
      this.oauth = new ClientCredentialsToken({ auth, clock: opts.clock, timeoutMs: opts.config.timeoutMs, signal: opts.signal, context: opts.context });
    }
  }

  async send(req: HttpRequest, where: string): Promise<HttpAnswer> {
    const { config, clock, signal, metrics, context } = this.opts;
    const retry = config.retry;
    const desc = `${req.method} ${describeUrl(req.url)}${where ? ` (${where})` : ''}`;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const auth = this.oauth ? { authorization: await this.oauth.header() } : {};
      await this.limiter.take();
      if (signal.aborted) throw new ConnectionError(`${desc}: aborted`, context);
      metrics.count('http_requests', 1, context.stream ? { stream: context.stream } : undefined);
      let res;
      try {
        res = await axios.request<string>({
          url: req.url,
          method: req.method,
          headers: { accept: 'application/json', ...req.headers, ...auth },
          params: req.query,
          data: req.body,
          timeout: config.timeoutMs,
          responseType: 'text',
          transformResponse: [(d: unknown) => d],
          validateStatus: () => true,
          signal,
        });
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'network error';
        if (signal.aborted) throw new ConnectionError(`${desc}: aborted`, context);
        if (attempt + 1 >= retry.attempts) throw new ConnectionError(`${desc}: ${code} after ${retry.attempts} attempts`, context, { cause: err });
        metrics.count('http_retries');
        await clock.sleep(backoffDelay(retry, attempt), signal);
        continue;
      }
      const headers = plainHeaders(res.headers);
      const text = typeof res.data === 'string' ? res.data : '';
      const status = res.status;
      if (status >= 200 && status < 300) return { status, headers, body: parseJson(text, headers, desc, context) };
      if (status === 401 && this.oauth && !refreshed) {
        // An expired or revoked token: one new token, one more try.
        refreshed = true;
        this.oauth.invalidate();
        attempt--;
        continue;
      }
      if (status === 401 || status === 403) {
        throw new ConnectionError(`${desc}: ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}: the API refused the credentials (auth.type ${config.auth.type}); not retried`, context, { retryable: false });
      }
      if (status === 429 || status >= 500) {
        const hint = retryAfterMs(headers, clock.now(), retry.resetHeader);
        if (status === 429 && hint !== undefined && hint > retry.maxDelayMs) {
          throw limitStop(`429 Too Many Requests asking to wait ${Math.ceil(hint / 1000)} s (more than retry.maxDelayMs)`, context);
        }
        if (attempt + 1 >= retry.attempts) {
          if (status === 429) throw limitStop(`429 Too Many Requests ${retry.attempts} times in a row on ${desc}`, context);
          throw new ConnectionError(`${desc}: server error ${status} after ${retry.attempts} attempts: ${snippet(text)}`, context);
        }
        metrics.count('http_retries');
        const wait = backoffDelay(retry, attempt, hint);
        if (status === 429) this.limiter.pause(wait);
        await clock.sleep(wait, signal);
        continue;
      }
      throw new ConnectionError(`${desc}: ${status}: ${snippet(text)}`, context, { retryable: false });
    }
  }
}

function parseJson(text: string, headers: Record<string, string>, desc: string, context: ErrorContext): unknown {
  const type = headers['content-type'] ?? 'no content type';
  try {
    if (text.trim() === '') throw new Error('empty');
    return JSON.parse(text);
  } catch {
    throw new ConnectionError(`${desc} answered ${type.split(';')[0]}, not JSON: ${snippet(text)}`, context, { retryable: false });
  }
}
