import { createHmac } from 'node:crypto';
import { anySame, header, type Verifier } from './verdict.js';

/**
 * Shopify: `X-Shopify-Hmac-SHA256` is the base64 HMAC-SHA256 of the raw body,
 * keyed with the app's client secret as text. The signature covers no
 * timestamp, so a replay is caught only by de-duplication on
 * `X-Shopify-Webhook-Id` (Shopify keeps that id across its retries).
 */
export function shopifyVerifier(opts: { secrets: string[] }): Verifier {
  return {
    verify(req) {
      const given = header(req, 'x-shopify-hmac-sha256');
      if (!given) return { ok: false, reason: 'missing X-Shopify-Hmac-SHA256 header' };
      const expected = opts.secrets.map((secret) => createHmac('sha256', Buffer.from(secret, 'utf8')).update(req.rawBody).digest('base64'));
      if (!anySame(expected, [given])) return { ok: false, reason: 'X-Shopify-Hmac-SHA256 does not match' };
      return { ok: true, id: header(req, 'x-shopify-webhook-id') };
    },
  };
}
