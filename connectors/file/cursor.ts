import { createHash } from 'node:crypto';

/**
 * How many primary keys are kept for rows AT the maximum cursor value. Past
 * this, further rows tied at the maximum are read again next time (duplicates,
 * which the store absorbs), never lost.
 */
export const MAX_TIE_KEYS = 1000;

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** An ISO-8601 date or date-time as [epoch ms, nanoseconds within the ms]; no offset means UTC. */
export function isoInstant(s: string): [number, number] | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  if (Number.isNaN(ms)) return undefined;
  // Date.UTC rolls 2024-02-30 over to 1 March; an impossible date is not an instant.
  const back = new Date(ms);
  if (back.getUTCDate() !== Number(d) || back.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return undefined;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0')) * 60_000;
  }
  const nanos = frac.padEnd(9, '0');
  return [ms + Number(nanos.slice(0, 3)), Number(nanos.slice(3))];
}

function sign(n: number | bigint): number {
  return n > 0 ? 1 : n < 0 ? -1 : 0;
}

/**
 * Order of two cursor values: integers (any size) and decimals numerically,
 * ISO-8601 dates and date-times as instants (offsets applied), anything else
 * (or a mix of kinds) by plain string comparison.
 */
export function compareCursor(a: string, b: string, type?: CursorType): number {
  if (type === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (INTEGER.test(a) && INTEGER.test(b)) return sign(BigInt(a) - BigInt(b));
  if (NUMBER.test(a) && NUMBER.test(b)) return sign(Number(a) - Number(b));
  const ia = isoInstant(a);
  const ib = isoInstant(b);
  if (ia && ib) return sign(ia[0] - ib[0]) || sign(ia[1] - ib[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A row's cursor value as text; undefined when absent or empty (such rows are always read). */
export function cursorText(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * The identity of a row for tie-breaking: its primary key values, or a hash of
 * the whole row when the stream has no (or an incomplete) primary key.
 */
export function rowKey(data: Record<string, unknown>, primaryKey: string[] | undefined): string {
  const values = (primaryKey ?? []).map((k) => data[k]);
  if (values.length > 0 && values.every((v) => v !== undefined && v !== null && v !== '')) {
    return values.length === 1 ? String(values[0]) : JSON.stringify(values);
  }
  return `sha1:${createHash('sha1').update(JSON.stringify(data)).digest('hex')}`;
}

/** The highest cursor value read so far and the keys of the rows at exactly that value. */
export interface CursorMark {
  /** How values compare; absent in states written before cursor types existed. */
  type?: CursorType;
  max: string;
  keys: string[];
}

/**
 * What a cursor column holds. `auto` takes the kind of the first value that is
 * a number or an ISO-8601 timestamp (or the kind of the saved bound); a column
 * of other text must say `string`.
 */
export type CursorType = 'number' | 'timestamp' | 'string';
export const CURSOR_TYPES = ['auto', 'number', 'timestamp', 'string'] as const;

/** The kind a cursor value parses as, if any. */
export function cursorKind(value: string): 'number' | 'timestamp' | undefined {
  if (NUMBER.test(value)) return 'number';
  if (isoInstant(value)) return 'timestamp';
  return undefined;
}

/** A duration such as `1d`, `36h`, `30m`, `90s` in milliseconds; `none` is no horizon. */
export function parseHorizon(text: string): number | undefined {
  if (text === 'none') return undefined;
  const m = /^(\d+)\s*(d|h|m|s)$/.exec(text);
  if (!m) throw new Error(`expected a duration such as 1d, 12h, 30m or "none", got "${text}"`);
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }[m[2] as 'd' | 'h' | 'm' | 's'];
}

export type CursorCheck = { ok: true } | { ok: false; reason: string };

/**
 * Decides whether a row's cursor value may move the stream's state: it must
 * parse as the cursor's type and, for timestamps, lie no later than now plus
 * the horizon. A value that fails is still data (the row is sent); only the
 * state ignores it, so one bad value cannot hide every later row.
 */
export class CursorGate {
  private kind: CursorType | undefined;
  constructor(
    declared: 'auto' | CursorType,
    private readonly horizonMs: number | undefined,
    private readonly now: () => number,
    savedType?: CursorType,
  ) {
    this.kind = declared === 'auto' ? savedType : declared;
  }

  get type(): CursorType | undefined {
    return this.kind;
  }

  check(value: string): CursorCheck {
    if (this.kind === 'string') return { ok: true };
    const kind = cursorKind(value);
    if (!kind) return { ok: false, reason: this.kind ? `not a ${this.kind}` : 'not a number or an ISO-8601 timestamp' };
    if (this.kind && kind !== this.kind) return { ok: false, reason: `not a ${this.kind}` };
    if (kind === 'timestamp' && this.horizonMs !== undefined) {
      const limit = this.now() + this.horizonMs;
      if (isoInstant(value)![0] > limit) return { ok: false, reason: `beyond the horizon (${new Date(limit).toISOString()})` };
    }
    this.kind = kind;
    return { ok: true };
  }
}

/** Decides which rows a run emits: above the saved maximum, or at it but not yet seen. */
export class CursorFilter {
  private readonly keys: Set<string>;
  constructor(private readonly saved: CursorMark | undefined) {
    this.keys = new Set(saved?.keys ?? []);
  }

  admits(value: string, key: string): boolean {
    if (!this.saved) return true;
    const c = compareCursor(value, this.saved.max, this.saved.type);
    return c > 0 || (c === 0 && !this.keys.has(key));
  }
}

/** Follows the maximum over the rows a run emitted, starting from the saved mark. */
export class CursorAccumulator {
  private max: string | undefined;
  private keys: Set<string>;
  private type: CursorType | undefined;
  constructor(start: CursorMark | undefined) {
    this.max = start?.max;
    this.keys = new Set(start?.keys ?? []);
    this.type = start?.type;
  }

  /** `type` is the type the value was checked against (see CursorGate). */
  observe(value: string, key: string, type?: CursorType): void {
    if (type) this.type = type;
    const c = this.max === undefined ? 1 : compareCursor(value, this.max, this.type);
    if (c > 0) {
      this.max = value;
      this.keys = new Set([key]);
    } else if (c === 0 && this.keys.size < MAX_TIE_KEYS) {
      this.keys.add(key);
    }
  }

  mark(): CursorMark | undefined {
    if (this.max === undefined) return undefined;
    return this.type ? { type: this.type, max: this.max, keys: [...this.keys] } : { max: this.max, keys: [...this.keys] };
  }
}
