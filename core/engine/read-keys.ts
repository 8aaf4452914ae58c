/**
 * Keys seen in one read of a source, to count duplicate primary keys and to
 * decide which version wins: the highest cursor value, then the later row.
 * Memory grows with the distinct keys of a run; past `maxKeys` new keys are no
 * longer remembered (duplicates among them are then caught within a batch only).
 *
 * Keys are kept as bytes in one buffer with a hash table of typed arrays (see
 * KeyBytes), not as a Map of strings: a Map cost ~100 bytes per key on the V8
 * heap (~210 with a date-text cursor; a record key is a cons string of source,
 * stream and id, flattened again for hashing), and V8 grows the heap to a
 * multiple of what is live: 800,000 keys took a read to ~950 MB of RSS.
 * Here a key costs its UTF-8 bytes plus 16-20 bytes, outside the V8 heap; a
 * stream with a cursor adds 8 bytes per key and the value (numbers kept parsed).
 */
export const MAX_TRACKED_KEYS = 1_000_000;

/** Verdict on one record: its key was not seen before, or it was and this version wins or loses. */
export type Seen = 'new' | 'replaces' | 'older';

export class ReadKeys {
  private readonly keys = new KeyBytes();
  // By key number; created when the first row with a cursor comes (streams without one pay nothing).
  private cursors: unknown[] | undefined;
  constructor(private readonly maxKeys = MAX_TRACKED_KEYS) {}

  /** `cursor` is the row's cursor value (undefined when the stream has none or the row lacks it). */
  see(key: string, cursor: unknown): Seen {
    const n = this.keys.find(key, this.keys.size < this.maxKeys);
    if (n < 0 || this.keys.added) {
      if (n >= 0) this.keepCursor(n, cursor);
      return 'new';
    }
    const kept = this.cursors?.[n];
    if (compareCursorValues(cursor, kept) < 0) return 'older';
    this.keepCursor(n, cursor);
    return 'replaces';
  }

  /** Bytes held for the keys (buffer and tables, as allocated), without the cursor values. */
  get keyBytes(): number {
    return this.keys.bytes;
  }

  private keepCursor(n: number, cursor: unknown) {
    if (cursor === undefined && !this.cursors) return;
    this.cursors ??= new Array<unknown>(this.keys.size).fill(undefined);
    const v = comparable(cursor);
    if (n === this.cursors.length) this.cursors.push(v);
    else this.cursors[n] = v;
  }
}

/**
 * The form of a cursor value to keep: compareCursorValues gives the same answer
 * against it as against the value itself (numbers and dates parsed once), and
 * long text is copied so it cannot hold the chunk or line it was cut from alive.
 */
function comparable(v: unknown): unknown {
  const n = asNumber(v);
  if (typeof n === 'bigint' || (typeof n === 'number' && Number.isFinite(n))) return n;
  // V8 cuts substrings of 13 characters or more as views of their parent string.
  if (typeof v === 'string' && v.length >= 13) return Buffer.from(v, 'utf16le').toString('utf16le');
  return v;
}

const EMPTY = 0;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
// Offsets into the buffer are 32-bit: past 4 GiB of key bytes, keys are no longer remembered.
const MAX_ARENA = 2 ** 32 - 1;

/**
 * A set of strings numbered 0, 1, 2... in insertion order, kept as bytes: key n
 * is bytes[starts[n] .. starts[n + 1]). Well-formed text is stored as UTF-8; text
 * whose UTF-8 holds U+FFFD (a lone surrogate becomes one) is stored as 0xFF then
 * UTF-16, so two different strings never share bytes (UTF-8 never has 0xFF).
 * Open addressing, linear probing, at most half full.
 */
class KeyBytes {
  size = 0;
  /** Whether the last find added its key. */
  added = false;
  private arena = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  private starts: Uint32Array = new Uint32Array(1 << 10);
  private hashes: Uint32Array = new Uint32Array(1 << 10);
  private slots = new Int32Array(1 << 11); // key number + 1, EMPTY when free

  get bytes(): number {
    return this.arena.length + this.starts.byteLength + this.hashes.byteLength + this.slots.byteLength;
  }

  /** The key's number (`added` says whether this call added it), or -1 when it is new and not added. */
  find(key: string, add: boolean): number {
    this.added = false;
    const len = this.encode(key);
    if (len < 0) return -1;
    const at = this.used;
    const a = this.arena;
    let h = FNV_OFFSET;
    for (let i = at; i < at + len; i++) h = Math.imul(h ^ a[i], FNV_PRIME);
    h >>>= 0;
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = this.slots[s];
      if (e === EMPTY) {
        if (!add) return -1;
        this.append(s, h, len);
        this.added = true;
        return this.size - 1;
      }
      if (this.hashes[e - 1] === h && this.same(e - 1, at, len)) return e - 1;
    }
  }

  /** Writes the key after the used bytes (not yet counted as used); its length, or -1 when it does not fit. */
  private encode(key: string): number {
    if (!this.room(key.length * 3 + 1)) return -1;
    const len = this.arena.write(key, this.used, 'utf8');
    if (!hasReplacement(this.arena, this.used, len)) return len;
    if (!this.room(key.length * 2 + 1)) return -1;
    this.arena[this.used] = 0xff;
    return 1 + this.arena.write(key, this.used + 1, 'utf16le');
  }

  private room(need: number): boolean {
    if (this.used + need <= this.arena.length) return true;
    if (this.used + need > MAX_ARENA) return false;
    const grown = Buffer.allocUnsafe(Math.min(MAX_ARENA, Math.max(this.arena.length * 2, this.used + need)));
    this.arena.copy(grown, 0, 0, this.used);
    this.arena = grown;
    return true;
  }

  private same(n: number, at: number, len: number): boolean {
    const start = this.starts[n];
    if (this.end(n) - start !== len) return false;
    const a = this.arena;
    for (let i = 0; i < len; i++) if (a[start + i] !== a[at + i]) return false;
    return true;
  }

  private end(n: number): number {
    return n + 1 < this.size ? this.starts[n + 1] : this.used;
  }

  private append(slot: number, hash: number, len: number) {
    const n = this.size;
    if (n === this.starts.length) {
      this.starts = grow(this.starts);
      this.hashes = grow(this.hashes);
    }
    this.starts[n] = this.used;
    this.hashes[n] = hash;
    this.used += len;
    this.size++;
    this.slots[slot] = n + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
  }

  private rehash() {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let n = 0; n < this.size; n++) {
      let s = this.hashes[n] & mask;
      while (slots[s] !== EMPTY) s = (s + 1) & mask;
      slots[s] = n + 1;
    }
    this.slots = slots;
  }
}

function grow(a: Uint32Array): Uint32Array {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Whether UTF-8 bytes hold U+FFFD (EF BF BD), which is also what a lone surrogate is written as. */
function hasReplacement(a: Buffer, at: number, len: number): boolean {
  for (let i = at; i + 2 < at + len; i++) if (a[i] === 0xef && a[i + 1] === 0xbf && a[i + 2] === 0xbd) return true;
  return false;
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
