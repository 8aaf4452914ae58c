import { describe, expect, it } from 'vitest';
import { compareCursorValues, ReadKeys, type Seen } from './read-keys.js';

/** What ReadKeys promises, written the plain way: a Map from key to the winning cursor. */
class MapModel {
  private readonly cursors = new Map<string, unknown>();
  constructor(private readonly maxKeys: number) {}
  see(key: string, cursor: unknown): Seen {
    if (!this.cursors.has(key)) {
      if (this.cursors.size < this.maxKeys) this.cursors.set(key, cursor);
      return 'new';
    }
    if (compareCursorValues(cursor, this.cursors.get(key)) < 0) return 'older';
    this.cursors.set(key, cursor);
    return 'replaces';
  }
}

/** Small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

// Keys that differ only where a byte encoding could merge them: lone surrogates (UTF-8 writes each as
// U+FFFD), U+FFFD itself, accents, astral characters, the empty key, and long keys.
const AWKWARD = ['a\ud800', 'a\udbff', 'a\ufffd', 'a\udc00b', 'a\ud83d\ude00', 'a\u00e9', 'ae\u0301', '', 'a', 'A', 'x'.repeat(5000), 'x'.repeat(5001)];

function cursorOf(next: () => number, i: number): unknown {
  switch (Math.floor(next() * 7)) {
    case 0:
      return undefined;
    case 1:
      return Math.floor(next() * 20);
    case 2:
      return String(Math.floor(next() * 20));
    case 3:
      return `2026-01-${String(1 + Math.floor(next() * 28)).padStart(2, '0')} 10:00:00`;
    case 4:
      return new Date(Date.UTC(2026, 0, 1 + Math.floor(next() * 28)));
    case 5:
      // Text that is neither a number nor a date, long enough for V8 to cut it as a view of its parent.
      return `version-${String.fromCharCode(97 + Math.floor(next() * 26))}-of-record-${i % 3}`.slice(2);
    default:
      return next() < 0.5 ? '1e400' : '';
  }
}

describe('ReadKeys against a Map of the same keys', () => {
  it('gives the same verdict for every row: awkward text, many keys, cursors of every kind, a cap', () => {
    for (const [seed, cap] of [
      [1, 1_000_000],
      [2, 3_000],
      [3, 10],
    ] as const) {
      const next = random(seed);
      const keys = new ReadKeys(cap);
      const model = new MapModel(cap);
      const got: Seen[] = [];
      const want: Seen[] = [];
      for (let i = 0; i < 20_000; i++) {
        // Enough distinct keys to grow the tables and the byte buffer several times, and repeats of each.
        const key = next() < 0.2 ? AWKWARD[Math.floor(next() * AWKWARD.length)] : `crm/customers/${Math.floor(next() * 6_000)}`;
        const cursor = cursorOf(next, i);
        got.push(keys.see(key, cursor));
        want.push(model.see(key, cursor));
      }
      expect(got).toEqual(want);
      expect(new Set(got)).toEqual(new Set<Seen>(['new', 'replaces', 'older']));
    }
  });

  it('tells apart keys that UTF-8 would write the same (lone surrogates and U+FFFD)', () => {
    const keys = new ReadKeys();
    expect(['a\ud800', 'a\udbff', 'a\ufffd', 'a\udc00'].map((k) => keys.see(k, undefined))).toEqual(['new', 'new', 'new', 'new']);
    expect(keys.see('a\udbff', undefined)).toBe('replaces');
  });

  it('tells apart two keys of one length whose hashes are equal', () => {
    // These two ids give one 32-bit FNV-1a hash (found by a search): only the byte comparison separates them.
    const keys = new ReadKeys();
    expect([keys.see('crm/customers/1062789', 1), keys.see('crm/customers/1279192', 1), keys.see('crm/customers/1279192', 0)]).toEqual(['new', 'new', 'older']);
  });

  it('keeps a parsed cursor that compares as the value did', () => {
    const keys = new ReadKeys();
    expect(keys.see('k', '2026-01-02 10:00:00')).toBe('new');
    expect(keys.see('k', '2026-01-02T09:00:00')).toBe('older');
    expect(keys.see('k', new Date('2026-01-03T00:00:00Z'))).toBe('replaces');
    expect(keys.see('k', '2026-01-02T23:00:00Z')).toBe('older');
    // Integers past 2^53 stay exact: the kept cursor is a bigint, not a rounded number.
    expect(keys.see('n', '9007199254740993')).toBe('new');
    expect(keys.see('n', '9007199254740992')).toBe('older');
  });
});
