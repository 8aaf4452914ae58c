import { createHash, createHmac } from 'node:crypto';

/**
 * The Standard Webhooks v1 signature: `v1,` + base64 of HMAC-SHA256 over
 * `{id}.{timestamp}.{body}` keyed with the secret's decoded bytes. `body` must
 * be the exact bytes sent: a receiver verifies the raw body.
 */
export function signV1(opts: { key: Buffer; id: string; timestamp: number; body: string | Buffer }): string {
  const mac = createHmac('sha256', opts.key);
  mac.update(`${opts.id}.${opts.timestamp}.`, 'utf8');
  mac.update(opts.body);
  return `v1,${mac.digest('base64')}`;
}

/** Integer Unix seconds, as `webhook-timestamp` carries them. */
export function unixSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

/** JSON with object keys sorted at every level, so equal content hashes equally whatever the key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const src = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(src).sort()) out[k] = src[k];
      return out;
    }
    return v;
  });
}

/**
 * The `webhook-id` of one batch: `msg_` + 32 base64url characters of a SHA-256
 * over the destination name and the canonical JSON of every item as it goes on
 * the wire, in order. The engine's retry of the same items therefore carries
 * the same id (receivers dedupe on it), while any change of content, order or
 * destination gives a new one. Never contains `.` (the spec forbids it, it
 * delimits the signed content).
 */
export function webhookId(destination: string, wireItems: unknown[]): string {
  const h = createHash('sha256');
  h.update(`tributary-webhook-id/1\n${destination}\n`, 'utf8');
  for (const item of wireItems) h.update(`${canonicalJson(item)}\n`, 'utf8');
  return `msg_${h.digest('base64url').slice(0, 32)}`;
}
