import { createHmac } from 'node:crypto';
import { anySame, header, parseUnixSeconds, withinTolerance, type Verifier } from './verdict.js';

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`, each v1
 * an HMAC-SHA256 keyed with the endpoint secret as text (the whole `whsec_...`
 * string, not decoded) over `{t}.{raw body}`. Several v1 entries appear while
 * a secret is rolled; v0 and other schemes are ignored. Stripe's libraries use
 * a 300 s tolerance. Stripe recommends de-duplicating on the event's `id`
 * field, which the route reads from the body (the header carries no id).
 */
export function stripeVerifier(opts: { secrets: string[]; toleranceSeconds: number }): Verifier {
  return {
    verify(req, nowMs) {
      const sig = header(req, 'stripe-signature');
      if (!sig) return { ok: false, reason: 'missing Stripe-Signature header' };
      let t: string | undefined;
      const v1: string[] = [];
      for (const part of sig.split(',')) {
        const eq = part.indexOf('=');
        if (eq < 0) continue;
        const k = part.slice(0, eq).trim();
        const v = part.slice(eq + 1).trim();
        if (k === 't') t = v;
        else if (k === 'v1') v1.push(v.toLowerCase());
      }
      if (t === undefined) return { ok: false, reason: 'Stripe-Signature has no t= timestamp' };
      if (!v1.length) return { ok: false, reason: 'Stripe-Signature has no v1= signature' };
      const seconds = parseUnixSeconds(t);
      if (seconds === undefined) return { ok: false, reason: 'Stripe-Signature t= is not Unix seconds' };
      if (!withinTolerance(seconds, nowMs, opts.toleranceSeconds)) {
        return { ok: false, reason: `Stripe-Signature timestamp is outside the ${opts.toleranceSeconds} s tolerance` };
      }
      const expected = opts.secrets.map((secret) => createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${t}.`, 'utf8').update(req.rawBody).digest('hex'));
      const matched = anySame(expected, v1);
      return matched ? { ok: true } : { ok: false, reason: 'no v1 signature in Stripe-Signature matches' };
    },
  };
}
