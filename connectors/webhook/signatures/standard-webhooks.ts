import { createHmac } from 'node:crypto';
import { anySame, header, parseUnixSeconds, withinTolerance, type Verifier } from './verdict.js';

/**
 * Standard Webhooks (standardwebhooks.com): `webhook-signature` holds one or
 * more space-separated `v1,<base64>` entries (several during a key rotation),
 * each an HMAC-SHA256 keyed with the secret's decoded bytes over
 * `{webhook-id}.{webhook-timestamp}.{raw body}`. A timestamp outside the
 * tolerance is refused even with a valid signature: that is what stops a
 * captured request from being replayed later. The id is the de-duplication key.
 * `keys`: the receiver's secrets, more than one while a secret is rotated.
 */
export function standardWebhooksVerifier(opts: { keys: Buffer[]; toleranceSeconds: number }): Verifier {
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
      const expected = opts.keys.map((key) => createHmac('sha256', key).update(`${id}.${ts}.`, 'utf8').update(req.rawBody).digest('base64'));
      const given: string[] = [];
      for (const entry of sigs.split(' ')) {
        const comma = entry.indexOf(',');
        if (comma > 0 && entry.slice(0, comma) === 'v1') given.push(entry.slice(comma + 1));
      }
      const matched = anySame(expected, given);
      return matched ? { ok: true, id } : { ok: false, reason: 'no v1 signature in webhook-signature matches' };
    },
  };
}
