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

/** Epoch milliseconds of a UTC calendar time, valid for years 0..9999 (Date.UTC maps 0..99 to 19xx). */
function utcMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, 0);
  return t.getTime();
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

function isoFromMs(ms: number, fraction: string | undefined): string {
  const t = new Date(ms);
  const y = t.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
  const frac = fraction ? `.${fraction}` : '';
  return `${year}-${pad(t.getUTCMonth() + 1, 2)}-${pad(t.getUTCDate(), 2)}T${pad(t.getUTCHours(), 2)}:${pad(t.getUTCMinutes(), 2)}:${pad(t.getUTCSeconds(), 2)}${frac}Z`;
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
  if (isZeroDate(text)) return null;
  const m = WALL.exec(text);
  if (!m || m[4] === undefined) return text;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  const wall = utcMs(y, mo, d, h, mi, s);
  const offset = zone.kind === 'offset' ? zone.minutes : ianaOffsetForWall(zone, wall, text.slice(0, 13));
  return isoFromMs(wall - offset * 60_000, m[7]);
}

/**
 * A timestamp that carries its own offset (`2024-01-01 10:00:00.5+02`, as
 * PostgreSQL writes timestamptz) as ISO-8601 UTC. `infinity`, BC dates and other
 * text are returned unchanged.
 */
export function offsetTimestampToIso(text: string): string {
  const m = WITH_OFFSET.exec(text);
  if (!m) return text;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number);
  const sign = m[8] === '-' ? -1 : 1;
  const offsetSeconds = sign * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0));
  return isoFromMs(utcMs(y, mo, d, h, mi, s) - offsetSeconds * 1000, m[7]);
}
