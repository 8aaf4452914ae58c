import axios from 'axios';
import { ConnectionError, type ErrorContext } from '../../core/errors.js';
import type { DeliveryClock } from '../../core/delivery/rate-limit.js';
import { describeUrl } from './client.js';
import type { HttpConfig } from './config.js';

type ClientCredentials = Extract<HttpConfig['auth'], { type: 'oauth2_client_credentials' }>;

/** A token is renewed this long before the expiry the server announced (clock skew, slow requests). */
const EXPIRY_MARGIN_MS = 30_000;

/**
 * OAuth2 client credentials (RFC 6749 §4.4): one token shared by the requests
 * of a stream, fetched on first use, renewed before `expires_in` runs out and
 * after a 401 (`invalidate`). The secret goes only to `tokenUrl`.
 */
export class ClientCredentialsToken {
  private token?: { value: string; expiresAt: number };

  constructor(
    private readonly opts: { auth: ClientCredentials; clock: DeliveryClock; timeoutMs: number; signal: AbortSignal; context: ErrorContext },
  ) {}

  invalidate(): void {
    this.token = undefined;
  }

  async header(): Promise<string> {
    const now = this.opts.clock.now();
    if (!this.token || now >= this.token.expiresAt) this.token = await this.fetch(now);
    return `Bearer ${this.token.value}`;
  }

  private async fetch(now: number): Promise<{ value: string; expiresAt: number }> {
    const { auth, timeoutMs, signal, context } = this.opts;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (auth.scope) form.set('scope', auth.scope);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (auth.credentialsIn === 'basic') {
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', auth.clientId);
      form.set('client_secret', auth.clientSecret);
    }
    const where = `POST ${describeUrl(auth.tokenUrl)} (OAuth2 token)`;
    let res;
    try {
      res = await axios.post<string>(auth.tokenUrl, form.toString(), { headers, timeout: timeoutMs, responseType: 'text', transformResponse: [(d: unknown) => d], validateStatus: () => true, signal });
    } catch (err) {
      throw new ConnectionError(`${where}: ${(err as { code?: string }).code ?? 'network error'}`, context, { cause: err });
    }
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown } = {};
    try {
      body = JSON.parse(res.data) as typeof body;
    } catch {
      // Reported below with the status.
    }
    if (res.status < 200 || res.status >= 300 || typeof body.access_token !== 'string') {
      const why = typeof body.error === 'string' ? body.error : res.status >= 200 && res.status < 300 ? 'no access_token in the answer' : `status ${res.status}`;
      throw new ConnectionError(`${where}: the token endpoint refused the client credentials (${why}); not retried`, context, { retryable: res.status >= 500 });
    }
    const expiresIn = Number(body.expires_in);
    const expiresAt = Number.isFinite(expiresIn) && expiresIn > 0 ? now + Math.max(0, expiresIn * 1000 - EXPIRY_MARGIN_MS) : Number.POSITIVE_INFINITY;
    return { value: body.access_token, expiresAt };
  }
}
