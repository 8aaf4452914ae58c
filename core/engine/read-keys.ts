/**
 * Keys seen in one read of a source, to count duplicate primary keys and to
 * decide which version wins: the highest cursor value, then the later row.
 * Memory grows with the distinct keys of a run; past `maxKeys` new keys are no
 * longer remembered (duplicates among them are then caught within a batch only).
 */
export const MAX_TRACKED_KEYS = 1_000_000;

/** Verdict on one record: its key was not seen before, or it was and this version wins or loses. */
export type Seen = 'new' | 'replaces' | 'older';

export class ReadKeys {
  private readonly cursors = new Map<string, unknown>();
  constructor(private readonly maxKeys = MAX_TRACKED_KEYS) {}

  /** `cursor` is the row's cursor value (undefined when the stream has none or the row lacks it). */
  see(key: string, cursor: unknown): Seen {
    if (!this.cursors.has(key)) {
      if (this.cursors.size < this.maxKeys) this.cursors.set(key, cursor);
      return 'new';
    }
    const kept = this.cursors.get(key);
    if (compareCursorValues(cursor, kept) < 0) return 'older';
    this.cursors.set(key, cursor);
    return 'replaces';
  }
}

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const DATE_LIKE = /^\d{4}-\d{2}-\d{2}/;

function asNumber(v: unknown): number | bigint | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return v;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'string' && NUMERIC.test(v)) return /^[+-]?\d+$/.test(v) ? BigInt(v) : Number(v);
  if (typeof v === 'string' && DATE_LIKE.test(v)) {
    const t = Date.parse(v.includes('T') || v.length === 10 ? v : v.replace(' ', 'T'));
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/**
 * Order of two cursor values of any connector: numbers (and numeric text),
 * dates (and ISO date text) by instant, other text as text. A value that is
 * missing or not comparable with the other counts as equal, so the later row wins.
 */
export function compareCursorValues(a: unknown, b: unknown): number {
  if (a === undefined || a === null || a === '' || b === undefined || b === null || b === '') return 0;
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined) {
    if (typeof na === 'bigint' && typeof nb === 'bigint') return na < nb ? -1 : na > nb ? 1 : 0;
    const x = Number(na);
    const y = Number(nb);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string' && na === undefined && nb === undefined) return a < b ? -1 : a > b ? 1 : 0;
  return 0;
}
