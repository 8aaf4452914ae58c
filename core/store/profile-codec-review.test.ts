import { describe, expect, it } from 'vitest';
import type { ProfileState } from '../resolution/types.js';
import { decodeProfile, encodeProfile } from './profile-codec.js';

// Review of the seventh session's codec change ($t, `computed` as 0): cases its own tests leave open.

const ID = 'prof_1';
const CREATED = '2026-12-01T14:10:27.621Z';
const UPDATED = '2026-12-01T14:11:02.763Z';
const T = '2026-03-01T00:00:00.000Z';
const SRC = 'crm/customers/1';

function roundTrip(p: ProfileState): ProfileState {
  return decodeProfile(encodeProfile(p), p.id, p.createdAt, p.updatedAt);
}

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
