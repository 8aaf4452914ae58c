import type { ProfileState } from '../../resolution/types.js';
import { decodeProfile, encodeProfile } from '../profile-codec.js';

/** Row columns and a time and source for hand-built profiles in the codec's tests. */
export const ID = 'prof_1';
export const CREATED = '2026-12-01T14:10:27.621Z';
export const UPDATED = '2026-12-01T14:11:02.763Z';
export const T = '2026-03-01T00:00:00.000Z';
export const SRC = 'crm/customers/1';

/** A profile written as the store writes it and read back. */
export function roundTrip(p: ProfileState): ProfileState {
  return decodeProfile(encodeProfile(p), p.id, p.createdAt, p.updatedAt);
}
