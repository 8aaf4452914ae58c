import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

/**
 * Shared normalizers. Each returns either a value or the reason it could not
 * make one, so the caller can attach a per-field warning instead of crashing.
 */
export type Normalized<T> = { ok: true; value: T } | { ok: false; reason: string };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_IDENTIFIER_LENGTH = 320;

export function normalizeEmail(input: unknown): Normalized<string> {
  if (input === null || input === undefined) return { ok: false, reason: 'empty' };
  const value = String(input).trim().toLowerCase();
  if (!value) return { ok: false, reason: 'empty' };
  if (value.length > MAX_IDENTIFIER_LENGTH) return { ok: false, reason: `longer than ${MAX_IDENTIFIER_LENGTH} characters` };
  if (!EMAIL.test(value)) return { ok: false, reason: 'not an email address' };
  return { ok: true, value };
}

export function normalizePhone(input: unknown, region?: string): Normalized<string> {
  if (input === null || input === undefined) return { ok: false, reason: 'empty' };
  let text = String(input).trim();
  if (!text) return { ok: false, reason: 'empty' };
  if (text.length > 64) return { ok: false, reason: 'longer than 64 characters' };
  // 00 is the international prefix in most of the world; libphonenumber only knows it per region.
  if (text.startsWith('00')) text = `+${text.slice(2)}`;
  const country = region ? (region.trim().toUpperCase() as CountryCode) : undefined;
  let parsed;
  try {
    parsed = parsePhoneNumberFromString(text, country);
  } catch {
    parsed = undefined;
  }
  if (!parsed) return { ok: false, reason: country ? `not a phone number for region ${country}` : 'not a phone number (no region to read it in)' };
  if (!parsed.isValid()) return { ok: false, reason: `not a valid ${parsed.country ?? country ?? ''} phone number`.replace('  ', ' ') };
  return { ok: true, value: parsed.number };
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const SQL_DATETIME = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** Timestamps to ISO-8601 UTC. Strings without a zone are read as UTC, never as local time. */
export function normalizeTimestamp(input: unknown): Normalized<string> {
  if (input === null || input === undefined || input === '') return { ok: false, reason: 'empty' };
  let ms: number;
  if (input instanceof Date) ms = input.getTime();
  else if (typeof input === 'number') ms = input < 1e11 ? input * 1000 : input; // seconds vs milliseconds
  else {
    const text = String(input).trim();
    if (/^\d{9,13}$/.test(text)) {
      const n = Number(text);
      ms = n < 1e11 ? n * 1000 : n;
    } else if (DATE_ONLY.test(text)) ms = Date.parse(`${text}T00:00:00Z`);
    else if (SQL_DATETIME.test(text)) ms = Date.parse(`${text.replace(' ', 'T')}Z`);
    else ms = Date.parse(text);
  }
  if (!Number.isFinite(ms)) return { ok: false, reason: 'not a date or time' };
  return { ok: true, value: new Date(ms).toISOString() };
}

export function normalizeName(input: unknown): string | undefined {
  if (input === null || input === undefined) return undefined;
  const value = String(input).replace(/\s+/g, ' ').trim();
  return value || undefined;
}

export function normalizeBoolean(input: unknown): Normalized<boolean> {
  if (typeof input === 'boolean') return { ok: true, value: input };
  if (input === null || input === undefined || input === '') return { ok: false, reason: 'empty' };
  const t = String(input).trim().toLowerCase();
  if (['true', 'yes', 'y', '1', 'on', 'opt-in', 'subscribed'].includes(t)) return { ok: true, value: true };
  if (['false', 'no', 'n', '0', 'off', 'opt-out', 'unsubscribed'].includes(t)) return { ok: true, value: false };
  return { ok: false, reason: 'not a boolean' };
}

export function normalizeNumber(input: unknown): Normalized<number> {
  if (typeof input === 'number' && Number.isFinite(input)) return { ok: true, value: input };
  if (input === null || input === undefined || input === '') return { ok: false, reason: 'empty' };
  const n = Number(String(input).trim());
  return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, reason: 'not a number' };
}
