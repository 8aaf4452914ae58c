import { describe, expect, it } from 'vitest';
import type { ProfileState } from '../resolution/types.js';
import { decodeProfile, encodeProfile } from './profile-codec.js';
import { CREATED, ID, roundTrip, SRC, T, UPDATED } from './__fixtures__/profile-round-trip.js';

// A key named `__proto__` is an own property only when JSON.parse or defineProperty made it; assigning it
// (`out[key] = v`) sets the object's prototype instead, and the key is gone. vitest's toEqual does not look
// at prototypes, so these tests compare own keys and prototypes themselves.


/** Where `a` and `b` differ in own keys (order included), values or prototypes, or undefined when they do not. */
function ownDifference(a: unknown, b: unknown, at = '$'): string | undefined {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return `${at}: ${String(a)} vs ${String(b)}`;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${at}: another prototype`;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.join('\u0000') !== kb.join('\u0000')) return `${at}: keys [${ka.join(', ')}] vs [${kb.join(', ')}]`;
  for (const k of ka) {
    const d = ownDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
    if (d) return d;
  }
  return undefined;
}

const cell = (v: unknown) => ({ v, at: T, src: SRC });

/** A profile as survivorship publishes it, from JSON: every `__proto__` in it is an own key. */
function profileFromJson(traitCells: Record<string, unknown>, computedCells: Record<string, unknown> = {}, extra = ''): ProfileState {
  const traits: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  const computed: Record<string, unknown> = {};
  // defineProperty, as JSON.parse does: these are the values the profile is expected to keep.
  const put = (o: Record<string, unknown>, k: string, v: unknown) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  for (const [name, c] of Object.entries(traitCells) as Array<[string, { v: unknown }]>) {
    if (name.startsWith('consent.')) put((traits.consent ??= {}) as Record<string, unknown>, name.slice(8), c.v);
    else put(traits, name, c.v);
    put(sources, name, SRC);
  }
  for (const [name, c] of Object.entries(computedCells) as Array<[string, { v: unknown }]>) put(computed, name, c.v);
  const body = { id: ID, createdAt: CREATED, updatedAt: UPDATED, identifiers: ['email\u0000ann@mail-box.net'], recordCount: 1, traits, traitSources: sources, computed };
  const text = JSON.stringify(body).slice(0, -1) + `,"aggregates":{"traits":${JSON.stringify(traitCells)},"computed":${JSON.stringify(computedCells)}}${extra}}`;
  return JSON.parse(text) as ProfileState;
}

/** Cells from JSON text, so a `__proto__` among them is an own key. */
const cells = (json: string) => JSON.parse(json) as Record<string, unknown>;

function expectExact(p: ProfileState) {
  const back = roundTrip(p);
  expect(ownDifference(back, p)).toBeUndefined();
  expect(JSON.stringify(back)).toBe(JSON.stringify(p));
}

describe('profile bodies: a key named __proto__', () => {
  it('keep a trait named __proto__ (its cell, its value and its source)', () => {
    const p = profileFromJson(cells(`{"email":${JSON.stringify(cell('ann@mail-box.net'))},"__proto__":${JSON.stringify(cell('legacy'))}}`));
    expect(Object.hasOwn(p.traits, '__proto__')).toBe(true);
    const back = roundTrip(p);
    expect(Object.hasOwn(back.traits, '__proto__')).toBe(true);
    expect(Object.hasOwn(back.traitSources, '__proto__')).toBe(true);
    expect(Object.hasOwn(back.aggregates.traits as object, '__proto__')).toBe(true);
    expectExact(p);
  });

  it('keep a trait named __proto__ whose value is an object, without it becoming a prototype', () => {
    const p = profileFromJson(cells(`{"email":${JSON.stringify(cell('ann@mail-box.net'))},"__proto__":${JSON.stringify(cell({ city: 'Oslo' }))}}`));
    const back = roundTrip(p);
    expect(Object.getPrototypeOf(back.aggregates.traits)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(back.traits)).toBe(Object.prototype);
    expectExact(p);
  });

  it('keep a __proto__ key inside a trait value', () => {
    const address = JSON.parse('{"__proto__":"x","city":"Oslo"}') as unknown;
    const p = profileFromJson({ email: cell('ann@mail-box.net'), address: { v: address, at: T, src: SRC } });
    const back = roundTrip(p);
    expect(Object.keys(back.traits.address as object)).toEqual(['__proto__', 'city']);
    expectExact(p);
  });

  it('keep a consent purpose named __proto__', () => {
    const p = profileFromJson(cells(`{"email":${JSON.stringify(cell('ann@mail-box.net'))},"consent.__proto__":${JSON.stringify(cell(true))}}`));
    expect(Object.keys(roundTrip(p).traits.consent as object)).toEqual(['__proto__']);
    expectExact(p);
  });

  it('keep a computed trait named __proto__', () => {
    const p = profileFromJson({ email: cell('ann@mail-box.net') }, cells(`{"orders":${JSON.stringify(cell(2))},"__proto__":${JSON.stringify(cell(3))}}`));
    const back = roundTrip(p);
    expect(Object.keys(back.computed)).toEqual(['orders', '__proto__']);
    expect(Object.keys(back.aggregates.computed as object)).toEqual(['orders', '__proto__']);
    expectExact(p);
  });

  it('keep an aggregates group named __proto__', () => {
    const p = profileFromJson({ email: cell('ann@mail-box.net') });
    Object.defineProperty(p.aggregates, '__proto__', { value: { x: cell(1) }, enumerable: true, writable: true, configurable: true });
    expect(Object.keys(roundTrip(p).aggregates)).toEqual(['traits', 'computed', '__proto__']);
    expectExact(p);
  });

  it('keep a cell named __proto__ in another aggregates group, and a name count named __proto__', () => {
    const p = profileFromJson({ email: cell('ann@mail-box.net') }, {}, `,"names":{"given":{"__proto__":1,"ann":2},"family":{}}`);
    (p.aggregates as Record<string, unknown>).counts = JSON.parse(`{"__proto__":${JSON.stringify(cell(1))}}`);
    expect(Object.keys(roundTrip(p).names!.given)).toEqual(['__proto__', 'ann']);
    expectExact(p);
  });

  it('keep a profile key named __proto__', () => {
    const p = profileFromJson({ email: cell('ann@mail-box.net') }, {}, `,"__proto__":{"x":1}`);
    expectExact(p);
  });

  it('read a compact body whose cells name __proto__ with own keys (traits, sources and computed rebuilt from the cells)', () => {
    // Not what the encoder writes (it keeps such a profile as plain JSON), but a body it can be handed.
    const body =
      '{"identifiers":[],"recordCount":1,"traits":0,"traitSources":0,"computed":0,' +
      `"aggregates":{"traits":{"__proto__":["legacy",0],"consent.__proto__":[true,0]},"computed":{"__proto__":[3,0]}},"$s":["${SRC}"],"$t":["${T}"]}`;
    const p = decodeProfile(body, ID, CREATED, UPDATED);
    expect(Object.keys(p.traits)).toEqual(['__proto__', 'consent']);
    expect(Object.keys(p.traits.consent as object)).toEqual(['__proto__']);
    expect(Object.keys(p.traitSources)).toEqual(['__proto__', 'consent.__proto__']);
    expect(Object.keys(p.computed)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(p.traits)).toBe(Object.prototype);
  });

  it('still write the compact form for a profile with no __proto__ anywhere', () => {
    const p = profileFromJson({ email: cell('ann@mail-box.net'), address: cell({ city: 'Oslo' }) });
    expect(encodeProfile(p)).not.toContain('"id"');
    expectExact(p);
  });
});
