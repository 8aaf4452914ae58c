import { domainToASCII } from 'node:url';
import { Metadata, parsePhoneNumberFromString, validatePhoneNumberLength, type CountryCode, type PhoneNumber } from 'libphonenumber-js';
import type { DateFormat } from '../config/schema.js';
import { fastE164 } from './phone.js';

/**
 * Shared normalizers. Each returns either a value or the reason it could not
 * make one, so the caller can attach a per-field warning instead of crashing.
 */
export type Normalized<T> = { ok: true; value: T } | { ok: false; reason: string };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_IDENTIFIER_LENGTH = 320;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** U+FFFD is what a decoder writes for bytes that were not valid in the source's encoding. */
export const UNDECODED_REASON = 'contains U+FFFD: the text did not decode (check the encoding of the source)';

/**
 * Emails: trimmed, lowercased, Unicode NFC (so `josé` typed on a Mac and on
 * Windows is one address), and the domain in its ASCII form (`münchen.de` and
 * `xn--mnchen-3ya.de` are one domain; ASCII is what DNS and every mail service
 * accept). All-ASCII input, the common case, takes a fast path that changes nothing else.
 */
export function normalizeEmail(input: unknown): Normalized<string> {
  if (input === null || input === undefined) return { ok: false, reason: 'empty' };
  let value = String(input).trim();
  if (!value) return { ok: false, reason: 'empty' };
  if (value.length > MAX_IDENTIFIER_LENGTH) return { ok: false, reason: `longer than ${MAX_IDENTIFIER_LENGTH} characters` };
  if (PRINTABLE_ASCII.test(value)) {
    value = value.toLowerCase();
    return EMAIL.test(value) ? { ok: true, value } : { ok: false, reason: 'not an email address' };
  }
  if (value.includes('\ufffd')) return { ok: false, reason: UNDECODED_REASON };
  value = value.normalize('NFC').toLowerCase().normalize('NFC');
  if (!EMAIL.test(value)) return { ok: false, reason: 'not an email address' };
  const at = value.lastIndexOf('@');
  const domain = domainToASCII(value.slice(at + 1));
  if (!domain || !domain.includes('.')) return { ok: false, reason: 'not an email address (the domain is not a valid name)' };
  value = `${value.slice(0, at + 1)}${domain}`;
  if (value.length > MAX_IDENTIFIER_LENGTH) return { ok: false, reason: `longer than ${MAX_IDENTIFIER_LENGTH} characters` };
  return { ok: true, value };
}

// Parsing a phone with the library costs ~10 µs; the same few numbers recur (switchboards, a shop's
// own number), so answers are kept per (region, text) up to a bound, then dropped at once.
const PHONE_MEMO_MAX = 20_000;
const phoneMemo = new Map<string, Normalized<string>>();

/**
 * Phones to E.164. An extension (`ext 12`, `x12`, `;ext=12`, `#12`) stays part of
 * the value in the RFC 3966 form `+14155552671;ext=12`: people behind one
 * switchboard number are different identifiers, and none of them is the bare number.
 */
export function normalizePhone(input: unknown, region?: string): Normalized<string> {
  if (input === null || input === undefined) return { ok: false, reason: 'empty' };
  const text = String(input).trim();
  if (!text) return { ok: false, reason: 'empty' };
  if (text.length > 64) return { ok: false, reason: 'longer than 64 characters' };
  // Already-E.164 input that is certainly valid skips the library (9.2 -> 0.55 µs per phone, see
  // phone.ts) and the memo (whose key and Map upkeep cost more than the answer); anything else,
  // and every rejection with its reason, is the library's. 00 is read as + as parsePhone does.
  const e164 = fastE164(text.startsWith('00') ? `+${text.slice(2)}` : text);
  if (e164 !== undefined) return { ok: true, value: e164 };
  const country = region ? region.trim().toUpperCase() : '';
  const key = `${country}\u0000${text}`;
  const hit = phoneMemo.get(key);
  if (hit) return hit;
  const result = parsePhone(text, country ? (country as CountryCode) : undefined);
  if (phoneMemo.size >= PHONE_MEMO_MAX) phoneMemo.clear();
  phoneMemo.set(key, result);
  return result;
}

/** A trimmed phone read by libphonenumber-js alone, no fast path or memo (also the reference phone.test.ts compares the fast path with). */
export function parsePhone(input: string, country: CountryCode | undefined): Normalized<string> {
  if (input.includes('\ufffd')) return { ok: false, reason: UNDECODED_REASON };
  // 00 is the international prefix in most of the world; libphonenumber only knows it per region.
  const text = input.startsWith('00') ? `+${input.slice(2)}` : input;
  let parsed;
  try {
    parsed = parsePhoneNumberFromString(text, country);
  } catch {
    parsed = undefined;
  }
  if (!parsed) return { ok: false, reason: country ? `not a phone number for region ${country}` : 'not a phone number (no region to read it in)' };
  if (!parsed.isValid()) return { ok: false, reason: invalidPhoneReason(text, parsed, country) };
  return { ok: true, value: parsed.ext ? `${parsed.number};ext=${parsed.ext}` : parsed.number };
}

const phoneMetadata = new Metadata();

function listLengths(ns: number[]): string {
  if (ns.length > 2 && ns[ns.length - 1] - ns[0] === ns.length - 1) return `${ns[0]} to ${ns[ns.length - 1]}`;
  return ns.length === 1 ? String(ns[0]) : `${ns.slice(0, -1).join(', ')} or ${ns[ns.length - 1]}`;
}

/**
 * Why a parsed number is not valid, in the terms of the region it was read in: a
 * national number is read by the stream's region, so that is the region named, not
 * the territory libphonenumber guessed from the first digits (a 7-digit "721 5421"
 * read in US is not "an invalid SX number", it is a US number without its area code).
 */
function invalidPhoneReason(text: string, parsed: PhoneNumber, country: CountryCode | undefined): string {
  const international = text.startsWith('+');
  const region = (international ? (parsed.country ?? parsed.getPossibleCountries()[0]) : country) ?? parsed.country;
  const digits = parsed.nationalNumber.length;
  if (!region) return `not a valid phone number (+${parsed.countryCallingCode}, ${digits} digits)`;
  phoneMetadata.selectNumberingPlan(region);
  const lengths = phoneMetadata.numberingPlan?.possibleLengths() ?? [];
  const verdict = international ? validatePhoneNumberLength(text) : validatePhoneNumberLength(text, region);
  const nanp = parsed.countryCallingCode === '1';
  if (verdict === 'TOO_SHORT') {
    const hint = nanp && digits === 7 ? ' (area code missing)' : '';
    return `too short for ${region}: ${digits} digits, a ${region} number has ${listLengths(lengths)}${hint}`;
  }
  if (verdict === 'TOO_LONG') return `too long for ${region}: ${digits} digits, a ${region} number has ${listLengths(lengths)}`;
  return `not a valid ${region} phone number: no ${region} number of ${digits} digits starts with ${parsed.nationalNumber.slice(0, 3)}`;
}

export interface TimestampOptions {
  /** The stream's `dateFormat`: the order of day, month and year in dates like 01.05.2024. */
  dateFormat?: DateFormat;
}

const TIME = String.raw`(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?`;
const YEAR_FIRST = new RegExp(String.raw`^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})${TIME}$`, 'i');
const DAY_OR_MONTH_FIRST = new RegExp(String.raw`^(\d{1,2})([-/.])(\d{1,2})\2(\d{4})${TIME}$`, 'i');
const TWO_DIGIT_YEAR = /^\d{1,2}[-/.]\d{1,2}[-/.]\d{2}(?:$|[T ])/;
const UNIX_TIME = /^\d{9,13}$/;
const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_NAME = /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?=[\s,\d]|$)/i;
const YEAR = /\b\d{4}\b/;
const HAS_ZONE = /(\b(z|utc|gmt)\b|[+-]\d{2}:?\d{2}\b)/i;
/** What `Date` can represent: ±100,000,000 days around 1970. */
const MAX_MS = 8.64e15;

const NOT_A_DATE: Normalized<string> = { ok: false, reason: 'not a date or time' };
const NOT_CALENDAR: Normalized<string> = { ok: false, reason: 'not a calendar date' };

/**
 * Timestamps to ISO-8601 UTC. Strings without a zone are read as UTC, never as local
 * time. An impossible date (2024-02-30) is refused, never rolled over; a date whose
 * day and month could be swapped (01.05.2024) is read by `dateFormat` or refused.
 * Unix times in seconds or milliseconds are numbers or 9 to 13 digits.
 */
export function normalizeTimestamp(input: unknown, opts: TimestampOptions = {}): Normalized<string> {
  if (input === null || input === undefined || input === '') return { ok: false, reason: 'empty' };
  if (input instanceof Date) return fromMs(input.getTime());
  if (typeof input === 'number') return fromMs(input < 1e11 && input > -1e11 ? input * 1000 : input); // seconds vs milliseconds
  const text = String(input).trim();
  if (!text) return { ok: false, reason: 'empty' };
  if (UNIX_TIME.test(text)) {
    const n = Number(text);
    return fromMs(n < 1e11 ? n * 1000 : n);
  }
  let m = YEAR_FIRST.exec(text);
  if (m) return fromParts(+m[1], +m[3], +m[4], m, 5);
  m = DAY_OR_MONTH_FIRST.exec(text);
  if (m) {
    const a = +m[1];
    const b = +m[3];
    const order = opts.dateFormat?.slice(0, 2);
    if (order === 'YY') return { ok: false, reason: `does not match dateFormat ${opts.dateFormat}` };
    if (order === 'DD') return fromParts(+m[4], b, a, m, 5);
    if (order === 'MM') return fromParts(+m[4], a, b, m, 5);
    const dayFirst = b <= 12 && a <= daysIn(+m[4], b);
    const monthFirst = a <= 12 && b <= daysIn(+m[4], a);
    if (dayFirst && monthFirst && a !== b) {
      return { ok: false, reason: "ambiguous day/month order: set the stream's dateFormat (e.g. DD.MM.YYYY or MM/DD/YYYY)" };
    }
    return dayFirst ? fromParts(+m[4], b, a, m, 5) : fromParts(+m[4], a, b, m, 5);
  }
  if (TWO_DIGIT_YEAR.test(text)) return { ok: false, reason: 'two-digit year: write the year in full' };
  // RFC 2822 and similar (`Fri, 01 Mar 2024 10:20:30 GMT`, `March 1, 2024`): a month name and a full year.
  const month = MONTH_NAME.exec(text);
  if (month && YEAR.test(text)) {
    const ms = Date.parse(HAS_ZONE.test(text) ? text : `${text} UTC`);
    if (!Number.isFinite(ms)) return NOT_A_DATE;
    // Date.parse rolls February 30 over into March: the month it read must be the one written.
    const written = MONTH_NAMES.indexOf(month[1].toLowerCase());
    const zoneFree = Date.parse(`${text.replace(HAS_ZONE, '')} UTC`);
    if (Number.isFinite(zoneFree) && new Date(zoneFree).getUTCMonth() !== written) return NOT_CALENDAR;
    return fromMs(ms);
  }
  return NOT_A_DATE;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month < 1 || month > 12) return 0;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

/** m[at..at+4]: hours, minutes, seconds, fraction, zone. */
function fromParts(year: number, month: number, day: number, m: RegExpExecArray, at: number): Normalized<string> {
  const hh = m[at] === undefined ? 0 : +m[at];
  const mi = m[at + 1] === undefined ? 0 : +m[at + 1];
  const ss = m[at + 2] === undefined ? 0 : +m[at + 2];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hh > 23 || mi > 59 || ss > 59) return NOT_CALENDAR;
  const ms = m[at + 3] === undefined ? 0 : Math.round(Number(`0.${m[at + 3]}`) * 1000);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hh, mi, ss, ms);
  return fromMs(d.getTime() - zoneOffsetMs(m[at + 4]));
}

function zoneOffsetMs(zone: string | undefined): number {
  if (!zone || /^(z|utc|gmt)$/i.test(zone)) return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0)) * 60_000;
}

function fromMs(ms: number): Normalized<string> {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_MS) return NOT_A_DATE;
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
