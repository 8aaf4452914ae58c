import { describe, expect, it } from 'vitest';
import { retryAfterMs } from './client.js';
import { httpConfigSchema } from './config.js';
import { compareCursor, minus } from './cursor.js';
import { linkNext, nextPosition } from './paginate.js';
import { render, renderAll, renderBody } from './template.js';

const vars = { cursor: '2024-01-01T00:00:00.000Z', env: { TENANT: 'acme' }, now: '2025-06-01T00:00:00.000Z' };

describe('templates', () => {
  it('fills state.cursor, env and now; no expressions', () => {
    expect(render('since={{ state.cursor }}&t={{env.TENANT}} at {{ now }}', vars)).toBe('since=2024-01-01T00:00:00.000Z&t=acme at 2025-06-01T00:00:00.000Z');
  });
  it('leaves out a parameter whose cursor is not known yet', () => {
    expect(renderAll({ since: '{{ state.cursor }}', fixed: 'x' }, { ...vars, cursor: undefined })).toEqual({ fixed: 'x' });
    expect(renderBody({ filter: { since: '{{ state.cursor }}', kind: 'a' } }, { ...vars, cursor: undefined })).toEqual({ filter: { kind: 'a' } });
  });
  it('refuses unknown names at load, naming them', () => {
    const r = httpConfigSchema.safeParse({ baseUrl: 'http://x.test', streams: { s: { path: '/s', headers: { a: '{{ process.env.X }}' } } } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['streams', 's', 'headers', 'a'], message: 'unknown template "{{ process.env.X }}": use {{ state.cursor }}, {{ env.NAME }} or {{ now }}' });
  });
});

describe('pagination helpers', () => {
  it('finds rel="next" among several links, quoted or not', () => {
    expect(linkNext('<https://a.test/x?page=1>; rel="prev", <https://a.test/x?page=3>; rel="next"')).toBe('https://a.test/x?page=3');
    expect(linkNext('<https://a.test/x?page=3>; rel=next')).toBe('https://a.test/x?page=3');
    expect(linkNext('<https://a.test/x?page=9>; rel="last"')).toBeUndefined();
  });
  it('offset paging with a total steps by the records received (a server may cap the limit)', () => {
    const p = { type: 'offset', param: 'offset', limitParam: 'limit', limit: 1000, totalPath: 'count' } as const;
    const seen = { url: 'http://a.test', headers: {}, body: { count: 2500 }, count: 500, readSoFar: 500 };
    expect(nextPosition(p, undefined, seen)).toEqual({ offset: 500 });
    expect(nextPosition(p, { offset: 2000 }, { ...seen, readSoFar: 2500 })).toBeUndefined();
  });
});

describe('cursors and Retry-After', () => {
  it('compares dates by instant across offsets, numbers by value', () => {
    expect(compareCursor('2024-01-01T02:00:00.000+02:00', '2024-01-01T00:00:00.000Z')).toBe(0);
    expect(compareCursor(9, 10)).toBeLessThan(0);
    expect(minus('2024-01-01T00:01:00Z', 60)).toBe('2024-01-01T00:00:00.000Z');
    expect(minus(100, 5)).toBe(95);
  });
  it('reads Retry-After as seconds or a date, else the reset header', () => {
    const now = Date.UTC(2025, 0, 1);
    expect(retryAfterMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': new Date(now + 5000).toUTCString() }, now)).toBe(5000);
    expect(retryAfterMs({ 'x-sib-ratelimit-reset': '2' }, now, 'x-sib-ratelimit-reset')).toBe(2000);
    expect(retryAfterMs({}, now)).toBeUndefined();
  });
});
