import { describe, expect, it } from 'vitest';
import { compareCursor, CursorAccumulator, CursorFilter, CursorGate, isoInstant, MAX_TIE_KEYS, parseHorizon, rowKey } from './cursor.js';

describe('cursor comparison', () => {
  it.each([
    ['9', '10', -1],
    ['-1', '0', -1],
    ['1e3', '1000', 0],
    ['2.50', '2.5', 0],
    ['12345678901234567890', '12345678901234567891', -1],
    ['2024-01-01', '2024-01-01T00:00:01Z', -1],
    ['2024-01-01T10:00:00+02:00', '2024-01-01T08:00:00Z', 0],
    ['2024-01-01T08:00:00', '2024-01-01T08:00:00Z', 0],
    ['2024-01-01 08:00:00.000001Z', '2024-01-01T08:00:00.000002Z', -1],
    ['2024-12-31T23:59:59-05:00', '2025-01-01T01:00:00Z', 1],
    ['b', 'a', 1],
    ['10', 'abc', -1],
  ])('%s vs %s -> %i', (a, b, expected) => {
    expect(compareCursor(a, b)).toBe(expected);
    expect(compareCursor(b, a)).toBe(-expected || 0);
  });

  it('reads ISO dates without an offset as UTC and refuses impossible ones', () => {
    expect(isoInstant('2024-02-29')).toEqual([Date.UTC(2024, 1, 29), 0]);
    expect(isoInstant('29/02/2024')).toBeUndefined();
  });
});

describe('row keys', () => {
  it('uses the primary key, composite keys as JSON, and a hash of the row without one', () => {
    expect(rowKey({ id: 7, x: 1 }, ['id'])).toBe('7');
    expect(rowKey({ a: 'x', b: 2 }, ['a', 'b'])).toBe('["x",2]');
    expect(rowKey({ a: 'x' }, ['id'])).toMatch(/^sha1:[0-9a-f]{40}$/);
    expect(rowKey({ a: 'x' }, undefined)).toBe(rowKey({ a: 'x' }, ['id']));
  });
});

describe('tie keys', () => {
  it('keep at most MAX_TIE_KEYS; ties beyond are read again rather than lost', () => {
    const acc = new CursorAccumulator(undefined);
    for (let i = 0; i < MAX_TIE_KEYS + 500; i++) acc.observe('5', `k${i}`);
    const mark = acc.mark()!;
    expect(mark.keys).toHaveLength(MAX_TIE_KEYS);
    const filter = new CursorFilter(mark);
    expect(filter.admits('5', 'k0')).toBe(false);
    expect(filter.admits('5', `k${MAX_TIE_KEYS + 1}`)).toBe(true);
    expect(filter.admits('4', 'new')).toBe(false);
    expect(filter.admits('6', 'k0')).toBe(true);
  });
});

describe('cursor gate', () => {
  it('refuses impossible calendar dates rather than rolling them over', () => {
    expect(isoInstant('2024-02-30')).toBeUndefined();
    expect(isoInstant('2023-02-29')).toBeUndefined();
    expect(isoInstant('2024-01-01T24:00:00Z')).toBeUndefined();
  });

  it('auto takes the first parsable kind and refuses the other kind afterwards', () => {
    const now = Date.UTC(2024, 5, 1);
    const gate = new CursorGate('auto', parseHorizon('1d'), () => now);
    expect(gate.check('garbage')).toEqual({ ok: false, reason: 'not a number or an ISO-8601 timestamp' });
    expect(gate.type).toBeUndefined();
    expect(gate.check('2024-05-01')).toEqual({ ok: true });
    expect(gate.type).toBe('timestamp');
    expect(gate.check('17')).toEqual({ ok: false, reason: 'not a timestamp' });
    expect(gate.check('2024-06-01T23:00:00Z').ok).toBe(true);
    expect(gate.check('2024-06-02T00:00:01Z')).toEqual({ ok: false, reason: 'beyond the horizon (2024-06-02T00:00:00.000Z)' });
  });

  it('a declared string cursor takes anything and compares as text', () => {
    const gate = new CursorGate('string', undefined, () => 0);
    expect(gate.check('not a date').ok).toBe(true);
    expect(compareCursor('10', '9', 'string')).toBe(-1);
    expect(compareCursor('10', '9', 'number')).toBe(1);
  });

  it('reads horizons and refuses nonsense', () => {
    expect(parseHorizon('36h')).toBe(36 * 3_600_000);
    expect(parseHorizon('none')).toBeUndefined();
    expect(() => parseHorizon('tomorrow')).toThrow(/duration/);
  });
});
