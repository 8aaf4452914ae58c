import { createHmac } from 'node:crypto';
import { anySame, header, type Verifier } from './verdict.js';

/**
 * A generic HMAC-SHA256 of the raw body (GitHub's `X-Hub-Signature-256:
 * sha256=<hex>`, and many SaaS tools), keyed with the secret as text, in a
 * configurable header, hex or base64, with an optional prefix. Hex is compared
 * case-insensitively (senders differ); base64 exactly.
 */
export function hmacVerifier(opts: { secrets: string[]; header: string; encoding: 'hex' | 'base64'; prefix: string }): Verifier {
  return {
    verify(req) {
      let given = header(req, opts.header);
      if (!given) return { ok: false, reason: `missing ${opts.header} header` };
      if (opts.prefix) {
        if (!given.startsWith(opts.prefix)) return { ok: false, reason: `${opts.header} does not start with ${opts.prefix}` };
        given = given.slice(opts.prefix.length);
      }
      if (opts.encoding === 'hex') given = given.toLowerCase();
      const expected = opts.secrets.map((secret) => createHmac('sha256', Buffer.from(secret, 'utf8')).update(req.rawBody).digest(opts.encoding));
      return anySame(expected, [given]) ? { ok: true } : { ok: false, reason: `${opts.header} does not match` };
    },
  };
}
