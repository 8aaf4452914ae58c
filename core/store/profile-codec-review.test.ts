import { describe, expect, it } from 'vitest';
import type { ProfileState } from '../resolution/types.js';
import { decodeProfile, encodeProfile } from './profile-codec.js';
import { CREATED, ID, roundTrip, SRC, T, UPDATED } from './__fixtures__/profile-round-trip.js';

// Review of the seventh session's codec change ($t, `computed` as 0): cases its own tests leave open.


describe('profile bodies: `computed` written as 0', () => {
  it('read a compact body written before the seventh session whose `computed` is the number 0 as it was (0, not the cells)', () => {
    // What the encoder before $t wrote for a profile whose `computed` was 0: it guarded only `traits` and
    // `traitSources` against a literal 0, so this body is compact and its 0 is the profile's own value.
    const old =
      '{"identifiers":["email\\u0000ann@mail-box.net"],"recordCount":1,"traits":0,"traitSources":0,"computed":0,' +
      `"aggregates":{"traits":{"email":["ann@mail-box.net","${T}",0]},"computed":{"orders_count":[2,"${T}",0]}},"$s":["${SRC}"]}`;
    const p = decodeProfile(old, ID, CREATED, UPDATED);
    expect(p.computed).toBe(0);
    expect(p.traits).toStrictEqual({ email: 'ann@mail-box.net' });
    expect(p.aggregates.computed).toStrictEqual({ orders_count: { v: 2, at: T, src: SRC } });
  });

  it('keep a profile whose `computed` is the number 0 as plain JSON, and read it back 0', () => {
    const p = {
      id: ID,
      createdAt: CREATED,
      updatedAt: UPDATED,
      identifiers: [],
      recordCount: 1,
      traits: {},
      traitSources: {},
      computed: 0,
      aggregates: { computed: { orders_count: { v: 2, at: T, src: SRC } } },
    } as unknown as ProfileState;
    expect(encodeProfile(p)).toBe(JSON.stringify(p));
    expect(roundTrip(p).computed).toBe(0);
  });

  it('give back an empty `computed` of a profile with no cells at all as {}', () => {
    const p: ProfileState = {
      id: ID,
      createdAt: CREATED,
      updatedAt: UPDATED,
      identifiers: [],
      recordCount: 0,
      traits: {},
      traitSources: {},
      computed: {},
      aggregates: { computed: {} },
    };
    expect(roundTrip(p)).toStrictEqual(p);
    expect(encodeProfile(p)).not.toContain('"id"');
  });
});

/** A small seeded generator (same cases every run): deterministic, so a failure names a profile that fails again. */
function generator(seed: number) {
  let s = seed;
  const next = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(next() * xs.length)];
  const values = () => [undefined, null, -0, 0, 1.5, NaN, Infinity, '', 'Ann', true, false, [], [1, 'x'], {}, { a: 1 }, { a: undefined }];
  const times = ['2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'];
  const cell = (): unknown => {
    const r = next();
    // Mostly cells, with the odd time or source of another type; then other shapes a group may hold.
    if (r < 0.7) return { v: pick(values()), at: next() < 0.9 ? pick(times) : pick([5, null, undefined]), src: next() < 0.95 ? pick(['s/a/1', 's/b/2', 's/c/3']) : 7 };
    if (r < 0.8) return { at: pick(times), v: 1, src: 's/a/1' };
    if (r < 0.9) return pick(values());
    return { v: 1, at: pick(times), src: 's/a/1', n: 2 };
  };
  const group = () => {
    const g: Record<string, unknown> = {};
    for (let n = Math.floor(next() * 4); n > 0; n--) g[pick(['email', 'name', 'consent.news', 'consent.sms', '$t', '$s'])] = cell();
    return g;
  };
  const asObject = (x: unknown) => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, { v?: unknown; src?: unknown }>) : {});
  const derived = (cells: unknown, f: (name: string, c: { v?: unknown; src?: unknown }, out: Record<string, unknown>) => void) => {
    const out: Record<string, unknown> = {};
    for (const [name, c] of Object.entries(asObject(cells))) f(name, asObject(c), out);
    return out;
  };
  return (): ProfileState => {
    const aggregates: Record<string, unknown> = {};
    for (const g of ['traits', 'computed', 'counts', '$t']) if (next() < 0.7) aggregates[g] = next() < 0.9 ? group() : pick(values());
    const traits = derived(aggregates.traits, (n, c, o) => (n.startsWith('consent.') ? ((o.consent ??= {}) as Record<string, unknown>)[n.slice(8)] = c.v : (o[n] = c.v)));
    const computed = derived(aggregates.computed, (n, c, o) => (o[n] = c.v));
    const p: Record<string, unknown> = { id: ID, createdAt: CREATED, updatedAt: UPDATED, identifiers: [], recordCount: 1 };
    p.traits = next() < 0.8 ? traits : pick(values());
    p.traitSources = next() < 0.8 ? derived(aggregates.traits, (n, c, o) => (o[n] = c.src)) : pick(values());
    const other = [pick(values()), { ...computed, extra: pick(values()) }, Object.fromEntries(Object.entries(computed).reverse())];
    p.computed = next() < 0.7 ? computed : pick(other);
    if (next() < 0.9) p.aggregates = next() < 0.95 ? aggregates : pick(values());
    if (next() < 0.05) p.$t = ['2026-01-01T00:00:00.000Z'];
    return p as unknown as ProfileState;
  };
}

describe('profile bodies: generated profiles', () => {
  it('read back as plain JSON would for 20,000 generated profiles (odd values, times, sources, groups, a `$t` key)', () => {
    const make = generator(7);
    let compacted = 0;
    let computedZero = 0;
    for (let n = 0; n < 20_000; n++) {
      const p = make();
      const body = encodeProfile(p);
      if (!body.includes('"id"')) compacted++;
      if (body.includes('"computed":0')) computedZero++;
      const back = JSON.stringify(roundTrip(p));
      if (back !== JSON.stringify(p)) expect({ body, back }).toEqual({ body, back: JSON.stringify(p) });
    }
    // The generator reaches the compact form and `computed: 0`, not only the plain fallback.
    expect(compacted).toBeGreaterThan(5_000);
    expect(computedZero).toBeGreaterThan(1_000);
  });
});

describe('profile bodies: `computed: 0` in a body without sources', () => {
  it('read a body written with `computed: 0` and no cells at all (02eb9aa wrote these, without $s or $t) as {}', () => {
    const body = '{"identifiers":["email\\u0000ann@mail-box.net"],"recordCount":1,"traits":0,"traitSources":0,"computed":0,"aggregates":{"traits":{},"computed":{}}}';
    const p = decodeProfile(body, ID, CREATED, UPDATED);
    expect(p.computed).toStrictEqual({});
    expect(p.traits).toStrictEqual({});
  });

  it('keep a `computed: 0` without sources as 0 where the computed group is not cells (it cannot be their values)', () => {
    const body = '{"identifiers":[],"recordCount":1,"traits":{},"traitSources":{},"computed":0,"aggregates":{"computed":{"orders":5}}}';
    expect(decodeProfile(body, ID, CREATED, UPDATED).computed).toBe(0);
  });
});
