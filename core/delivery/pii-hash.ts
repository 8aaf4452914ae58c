import { createHash } from 'node:crypto';

/**
 * Identifiers hashed the way the ad platforms match them (Meta, Google, TikTok):
 * SHA-256, hex, of the normalized value. Emails trimmed and lower-cased; phones
 * as digits only with the country code and no `+` (E.164 `+16505551212` ->
 * `16505551212`). Any other value: trimmed.
 */
export function normalizeForHash(kind: 'email' | 'phone' | 'other', value: string): string {
  const v = value.trim();
  if (kind === 'email') return v.toLowerCase();
  if (kind === 'phone') return v.replace(/\D/g, '');
  return v;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function hashPii(kind: 'email' | 'phone' | 'other', value: string): string {
  return sha256Hex(normalizeForHash(kind, value));
}
