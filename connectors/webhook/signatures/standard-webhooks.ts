import { createHmac } from 'node:crypto';
import { header, parseUnixSeconds, sameText, withinTolerance, type Verifier } from './verdict.js';

/**
 * Standard Webhooks (standardwebhooks.com): `webhook-signature` holds one or
 * more space-separated `v1,<base64>` entries (several during a key rotation),
 * each an HMAC-SHA256 keyed with the secret's decoded bytes over
 * `{webhook-id}.{webhook-timestamp}.{raw body}`. A timestamp outside the
 * tolerance is refused even with a valid signature: that is what stops a
 * captured request from being replayed later. The id is the de-duplication key.
 */
export function standardWebhooksVerifier(opts: { key: Buffer; toleranceSeconds: number }): Verifier {
  return {
    verify(req, nowMs) {
      const id = header(req, 'webhook-id');
      const ts = header(req, 'webhook-timestamp');
      const sigs = header(req, 'webhook-signature');
      if (!id) return { ok: false, reason: 'missing webhook-id header' };
      if (!ts) return { ok: false, reason: 'missing webhook-timestamp header' };
      if (!sigs) return { ok: false, reason: 'missing webhook-signature header' };
      const seconds = parseUnixSeconds(ts);
      if (seconds === undefined) return { ok: false, reason: 'webhook-timestamp is not Unix seconds' };
      if (!withinTolerance(seconds, nowMs, opts.toleranceSeconds)) {
        return { ok: false, reason: `webhook-timestamp is outside the ${opts.toleranceSeconds} s tolerance` };
      }
      const mac = createHmac('sha256', opts.key);
      mac.update(`${id}.${ts}.`, 'utf8');
      mac.update(req.rawBody);
      const expected = mac.digest('base64');
      let matched = false;
      for (const entry of sigs.split(' ')) {
        const comma = entry.indexOf(',');
        if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
        // No early exit: every entry is compared, so timing does not tell which one matched.
        if (sameText(expected, entry.slice(comma + 1))) matched = true;
      }
      return matched ? { ok: true, id } : { ok: false, reason: 'no v1 signature in webhook-signature matches' };
    },
  };
}
