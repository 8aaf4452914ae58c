import axios, { type AxiosInstance } from 'axios';
import { isStaleKeepAlive } from '../../core/util/stale-socket.js';
import type { ConnectorContext, DestinationContext } from '../../core/plugin/types.js';
import type { BrevoConfig } from './config.js';

/**
 * The budgets requests are counted against. `reports` (the import report CSVs,
 * served from a file URL, not the API) is not a declared budget, so the gate
 * counts it without limiting it.
 */
export type BrevoBudget = 'contacts' | 'events' | 'processes' | 'reports';

/** What one HTTP exchange gave: a response (any status) or a transport failure (timeout, reset, refused). */
export type Exchange =
  | { kind: 'response'; status: number; contentType: string; text: string; json: unknown; isJson: boolean; headers: Record<string, string> }
  | { kind: 'transport'; code: string; reason: string };

export interface BrevoRequest {
  budget: BrevoBudget;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path under `baseUrl` (`/contacts`), or an absolute URL with `external: true`. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** An absolute URL outside the API (an import report): sent without the api key. */
  external?: boolean;
}

export interface BrevoHttp {
  readonly config: BrevoConfig;
  send(req: BrevoRequest): Promise<Exchange>;
}

function header(h: unknown, name: string): string {
  const v = (h as Record<string, unknown> | undefined)?.[name];
  return Array.isArray(v) ? String(v[0]) : v === undefined || v === null ? '' : String(v);
}

function plainHeaders(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((h as Record<string, unknown>) ?? {})) out[k.toLowerCase()] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
}

/** The transport error's code and a message that never carries the request config (where the api key is). */
function transportFailure(err: unknown, timeoutMs: number): Exchange {
  const e = err as { code?: string; message?: string };
  const code = e.code ?? 'ERR_UNKNOWN';
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '')) {
    return { kind: 'transport', code: 'ETIMEDOUT', reason: `no answer within ${timeoutMs} ms` };
  }
  if (code === 'ERR_CANCELED') return { kind: 'transport', code, reason: 'request cancelled (the run is stopping)' };
  return { kind: 'transport', code, reason: `connection failed (${code}): ${e.message ?? 'no message'}` };
}

/**
 * An HTTP client for one destination's config. Every `send` first takes a token
 * from `ctx.rate` (the budget the request counts against), then sends; it never
 * throws for HTTP statuses or transport failures, it describes them.
 */
export function brevoHttp(ctx: ConnectorContext<BrevoConfig> | DestinationContext<BrevoConfig>): BrevoHttp {
  const config = ctx.config;
  const client: AxiosInstance = axios.create({
    baseURL: config.baseUrl,
    timeout: config.timeoutMs,
    // Statuses are ours to read, and the body is parsed here so an HTML page is named, not a JSON stack.
    validateStatus: () => true,
    responseType: 'text',
    transformResponse: [(d: unknown) => d],
    maxRedirects: 0,
    maxBodyLength: 12 * 1024 * 1024,
    maxContentLength: 64 * 1024 * 1024,
  });
  const rate = 'rate' in ctx ? ctx.rate : undefined;
  return {
    config,
    async send(req) {
      await rate?.take(req.budget);
      // A stale keep-alive socket (closed by the server as we reused it) is tried once more at once:
      // that request never reached Brevo, so it neither counts nor applies twice.
      for (let fresh = false; ; fresh = true) {
      try {
        const res = await client.request({
          method: req.method,
          url: req.path,
          params: req.query,
          data: req.body === undefined ? undefined : JSON.stringify(req.body),
          headers: {
            accept: 'application/json',
            ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(req.external ? {} : { 'api-key': config.apiKey }),
          },
          signal: ctx.signal,
        });
        const contentType = header(res.headers, 'content-type').toLowerCase();
        const text = typeof res.data === 'string' ? res.data : '';
        let json: unknown;
        let isJson = false;
        if (text.length > 0 && contentType.includes('json')) {
          try {
            json = JSON.parse(text);
            isJson = true;
          } catch {
            isJson = false;
          }
        } else if (text.length === 0) {
          isJson = true;
        }
        return { kind: 'response', status: res.status, contentType: contentType || 'no content type', text, json, isJson, headers: plainHeaders(res.headers) };
      } catch (err) {
        if (!fresh && isStaleKeepAlive(err)) continue;
        return transportFailure(err, config.timeoutMs);
      }
      }
    },
  };
}
