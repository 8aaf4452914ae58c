import type { JsonValue } from '../../core/plugin/types.js';

/** The value at a dotted path (`data.items`); the whole value for ''. */
export function getPath(v: unknown, path: string): unknown {
  if (path === '') return v;
  let cur: unknown = v;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const DATE_LIKE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** The last two strings parsed: comparing each record's cursor with the running maximum parses the maximum again every time. */
const recent: Array<[string, number | undefined]> = [];

/** A date cursor's time in ms, or undefined for anything that is not an ISO-8601 date. */
export function dateMs(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  for (const [s, t] of recent) if (s === v) return t;
  const parsed = DATE_LIKE.test(v) ? Date.parse(v) : NaN;
  const t = Number.isNaN(parsed) ? undefined : parsed;
  recent.unshift([v, t]);
  if (recent.length > 2) recent.pop();
  return t;
}

/** Order of two cursor values: numbers by value, ISO dates by instant (offsets differ), other strings by code point. */
export function compareCursor(a: JsonValue, b: JsonValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const ta = dateMs(a);
  const tb = dateMs(b);
  if (ta !== undefined && tb !== undefined) return ta - tb;
  const sa = String(a);
  const sb = String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** A cursor value usable in state: a number or a string (anything else is not a cursor). */
export function asCursor(v: unknown): JsonValue | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v !== '') return v;
  return undefined;
}

/** `value` moved down by `overlap` (seconds for dates, units for numbers); other strings are left as they are. */
export function minus(value: JsonValue, overlap: number): JsonValue {
  if (!overlap) return value;
  if (typeof value === 'number') return value - overlap;
  const t = dateMs(value);
  return t === undefined ? value : new Date(t - overlap * 1000).toISOString();
}

export const maxCursor = (a: JsonValue | undefined, b: JsonValue | undefined): JsonValue | undefined =>
  a === undefined ? b : b === undefined ? a : compareCursor(a, b) >= 0 ? a : b;

export const minCursor = (a: JsonValue, b: JsonValue): JsonValue => (compareCursor(a, b) <= 0 ? a : b);

/** Cursor values rendered into a request parameter (`{{ state.cursor }}`). */
export const cursorText = (v: JsonValue): string => (typeof v === 'string' ? v : JSON.stringify(v));
