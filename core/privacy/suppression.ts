import { createHash } from 'node:crypto';
import type { CanonicalRecord } from '../schema/canonical.js';
import { identifierKey } from '../schema/canonical.js';
import { normalizeEmail, normalizePhone } from '../schema/normalize.js';

/**
 * How a suppressed identifier is kept: SHA-256 of a per-store salt and the
 * identifier key (type, namespace, normalized value). The list can answer "is
 * this one suppressed?" for a value a sync brings, but cannot be read back into
 * addresses, and the same address hashes differently in another store.
 */
export function suppressionHash(salt: string, key: string): string {
  return createHash('sha256').update(salt).update('\u0000').update(key).digest('hex');
}

/** The identifier keys of records, for one suppression lookup per batch. */
export function recordIdentifierKeys(records: CanonicalRecord[]): string[] {
  const keys = new Set<string>();
  for (const r of records) for (const id of r.identifiers) keys.add(identifierKey(id));
  return [...keys];
}

/** Whether a record carries one of the suppressed identifier keys. */
export function isSuppressed(record: CanonicalRecord, suppressed: Set<string>): boolean {
  return suppressed.size > 0 && record.identifiers.some((id) => suppressed.has(identifierKey(id)));
}

/**
 * Identifier keys a raw payload may carry (every string in it read as an email
 * and as a phone), so a row that failed mapping is not dead-lettered with a
 * suppressed person's data. Only asked for dead letters, which are few.
 */
export function payloadCandidateKeys(payload: unknown, defaultRegion: string): string[] {
  const keys = new Set<string>();
  const visit = (v: unknown, depth: number) => {
    if (depth > 8 || v === null || v === undefined) return;
    if (typeof v === 'string' || typeof v === 'number') {
      const text = String(v);
      if (text.length > 320) return;
      const email = normalizeEmail(text);
      if (email.ok) keys.add(identifierKey({ type: 'email', value: email.value }));
      if (/\d{5}/.test(text.replace(/\D/g, ''))) {
        const phone = normalizePhone(text, defaultRegion);
        if (phone.ok) keys.add(identifierKey({ type: 'phone', value: phone.value }));
      }
    } else if (Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (typeof v === 'object') Object.values(v as Record<string, unknown>).forEach((x) => visit(x, depth + 1));
  };
  visit(payload, 0);
  return [...keys];
}
