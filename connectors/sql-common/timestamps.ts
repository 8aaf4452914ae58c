/**
 * Date and time text from SQL servers to ISO-8601 UTC, without going through a
 * JS `Date` (which keeps milliseconds only: DATETIME(6) and PostgreSQL
 * timestamps carry microseconds, and those are kept digit for digit).
 */

/** A zone to read wall-clock values (DATETIME, timestamp without time zone) in. */
export type WallClockZone =
  | { kind: 'offset'; name: string; minutes: number }
  | { kind: 'iana'; name: string; format: Intl.DateTimeFormat; cache: Map<string, number> };

/** Coordinated Universal Time. */
export const UTC: WallClockZone = { kind: 'offset', name: 'UTC', minutes: 0 };

const OFFSET = /^([+-])(\d{1,2}):?(\d{2})$/;

/**
 * A zone from its name: `UTC`, `Z`, `+02:00`, `-0530` or an IANA name such as
 * `Europe/Berlin`. Returns undefined for what JS cannot interpret (MySQL's
 * `SYSTEM` abbreviations like `CEST`, PostgreSQL's POSIX zone strings).
 */
export function resolveZone(name: string): WallClockZone | undefined {
  const n = name.trim();
  if (/^(utc|z|gmt|etc\/utc|etc\/gmt|universal|zulu)$/i.test(n)) return { kind: 'offset', name: n, minutes: 0 };
  const m = OFFSET.exec(n);
  if (m) {
    const minutes = (Number(m[2]) * 60 + Number(m[3])) * (m[1] === '-' ? -1 : 1);
    if (Math.abs(minutes) > 18 * 60) return undefined;
    return { kind: 'offset', name: n, minutes };
  }
  try {
    const format = new Intl.DateTimeFormat('en-US', {
      timeZone: n,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
    return { kind: 'iana', name: n, format, cache: new Map() };
  } catch {
    return undefined;
  }
}

const WALL = /^(\d{4,})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?)?$/;
const WITH_OFFSET = /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?$/;

/** MySQL's zero dates (`0000-00-00`, `2024-00-15`): a date with a zero part is no date at all. */
export function isZeroDate(text: string): boolean {
  return /^\d{4,}-(00-|\d{2}-00)/.test(text) || text.startsWith('0000-00-00');
}

/** Epoch milliseconds of a UTC calendar time (Date.UTC alone maps years 0..99 to 19xx). */
function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  if (y >= 100) return Date.UTC(y, mo - 1, d, h, mi, s);
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, 0);
  return t.getTime();
}

/** ISO-8601 UTC of an instant (whole seconds), with the source's fractional digits kept as text. */
function isoFromMs(ms: number, fraction: string): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, iso.length - 5)}${fraction}Z`;
}

const isDigitAt = (t: string, i: number) => {
  const c = t.charCodeAt(i);
  return c >= 48 && c <= 57;
};
const twoDigits = (t: string, i: number) => (t.charCodeAt(i) - 48) * 10 + t.charCodeAt(i + 1) - 48;
const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];

/**
 * Whether `t` starts with `YYYY-MM-DD HH:MM:SS` (or a `T` in the middle): the
 * layout every server writes for years 1000..9999. Checked by character, because
 * this runs for every date-time of every row.
 */
function standardLayout(t: string): boolean {
  if (t.length < 19) return false;
  const sep = t.charCodeAt(10);
  if (t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || (sep !== 32 && sep !== 84) || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return false;
  for (const i of DIGIT_POSITIONS) if (!isDigitAt(t, i)) return false;
  return true;
}

/** Length of `.digits` at `from` (0 when there is no fraction, -1 when malformed). */
function fractionLength(t: string, from: number): number {
  if (from >= t.length || t.charCodeAt(from) !== 46) return 0;
  let i = from + 1;
  while (i < t.length && isDigitAt(t, i)) i++;
  return i - from > 1 ? i - from : -1;
}

/** Offset of an IANA zone at a UTC instant, in minutes east of UTC. */
function ianaOffsetAt(zone: Extract<WallClockZone, { kind: 'iana' }>, utc: number): number {
  const parts: Record<string, string> = {};
  for (const p of zone.format.formatToParts(new Date(utc))) parts[p.type] = p.value;
  let year = Number(parts.year);
  if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
  const local = utcMs(year, Number(parts.month), Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  return Math.round((local - (utc - (utc % 1000 + 1000) % 1000)) / 60_000);
}

/**
 * Offset to apply to a wall-clock time in an IANA zone. In the hour a clock is
 * set back (the time happens twice) the earlier instant is chosen; in the hour
 * skipped when it is set forward the offset from before the change is used.
 */
function ianaOffsetForWall(zone: Extract<WallClockZone, { kind: 'iana' }>, wallMs: number, hourKey: string): number {
  const cached = zone.cache.get(hourKey);
  if (cached !== undefined) return cached;
  const before = ianaOffsetAt(zone, wallMs - 36 * 3_600_000);
  const after = ianaOffsetAt(zone, wallMs + 36 * 3_600_000);
  let offset: number;
  if (before === after) offset = before;
  else {
    // Try both offsets around a change; keep those that map back to the same wall time.
    const fits = [before, after].filter((o) => ianaOffsetAt(zone, wallMs - o * 60_000) === o);
    offset = fits.length ? Math.max(...fits) : before;
  }
  if (zone.cache.size > 50_000) zone.cache.clear();
  zone.cache.set(hourKey, offset);
  return offset;
}

/**
 * A wall-clock value (`2024-03-31 02:30:00.123456`, no zone) read in `zone`, as
 * ISO-8601 UTC with the same fractional digits. Zero dates give null; text that
 * is not a date and time is returned unchanged, so nothing is lost.
 */
export function wallClockToIso(text: string, zone: WallClockZone): string | null {
  if (standardLayout(text)) {
    const frac = fractionLength(text, 19);
    if (frac >= 0 && 19 + frac === text.length) {
      const mo = twoDigits(text, 5);
      const d = twoDigits(text, 8);
      if (mo === 0 || d === 0) return null;
      const fraction = text.slice(19);
      if (zone.kind === 'offset' && zone.minutes === 0) return `${text.slice(0, 10)}T${text.slice(11, 19)}${fraction}Z`;
      const y = twoDigits(text, 0) * 100 + twoDigits(text, 2);
      const wall = utcMs(y, mo, d, twoDigits(text, 11), twoDigits(text, 14), twoDigits(text, 17));
      const offset = zone.kind === 'offset' ? zone.minutes : ianaOffsetForWall(zone, wall, text.slice(0, 13));
      return isoFromMs(wall - offset * 60_000, fraction);
    }
  }
  if (isZeroDate(text)) return null;
  const m = WALL.exec(text);
  if (!m || m[4] === undefined) return text;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  const wall = utcMs(y, mo, d, h, mi, s);
  const offset = zone.kind === 'offset' ? zone.minutes : ianaOffsetForWall(zone, wall, text.slice(0, 13));
  return isoFromMs(wall - offset * 60_000, m[7] ? `.${m[7]}` : '');
}

/**
 * A timestamp that carries its own offset (`2024-01-01 10:00:00.5+02`, as
 * PostgreSQL writes timestamptz) as ISO-8601 UTC. `infinity`, BC dates and other
 * text are returned unchanged.
 */
export function offsetTimestampToIso(text: string): string {
  if (standardLayout(text)) {
    const frac = fractionLength(text, 19);
    // The common case, a session in UTC: only the layout changes.
    if (frac >= 0 && text.length === 22 + frac && text.endsWith('+00')) return `${text.slice(0, 10)}T${text.slice(11, 19 + frac)}Z`;
  }
  const m = WITH_OFFSET.exec(text);
  if (!m) return text;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  const sign = m[8] === '-' ? -1 : 1;
  const offsetSeconds = sign * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0));
  return isoFromMs(utcMs(y, mo, d, h, mi, s) - offsetSeconds * 1000, m[7] ? `.${m[7]}` : '');
}
