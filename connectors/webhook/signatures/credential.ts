import { header, sameSecret, type Verifier } from './verdict.js';

/**
 * For senders that cannot sign (Brevo's marketing webhooks): a shared bearer
 * token in `Authorization: Bearer <token>`. This proves who sent the request,
 * not that the body is unaltered, so use it over https only.
 */
export function bearerVerifier(opts: { token: string }): Verifier {
  return {
    verify(req) {
      const auth = header(req, 'authorization');
      const m = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
      if (!m) return { ok: false, reason: 'missing Authorization: Bearer credential' };
      return sameSecret(opts.token, m[1].trim()) ? { ok: true } : { ok: false, reason: 'bearer token does not match' };
    },
  };
}

/**
 * HTTP basic credentials (`Authorization: Basic base64(user:password)`), as a
 * sender sends them when its webhook URL is written `https://user:pass@host/...`.
 * User name and password are both compared in constant time, and both always.
 */
export function basicVerifier(opts: { username: string; password: string }): Verifier {
  return {
    verify(req) {
      const auth = header(req, 'authorization');
      const m = auth ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(auth) : null;
      if (!m) return { ok: false, reason: 'missing Authorization: Basic credential' };
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return { ok: false, reason: 'malformed Basic credential' };
      const userOk = sameSecret(opts.username, decoded.slice(0, colon));
      const passOk = sameSecret(opts.password, decoded.slice(colon + 1));
      return userOk && passOk ? { ok: true } : { ok: false, reason: 'basic credential does not match' };
    },
  };
}
