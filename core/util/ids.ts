import { randomUUID } from 'node:crypto';

let counter = 0;

/**
 * Profile ids sort in creation order (time, then a per-process counter, then
 * randomness), so "the oldest profile survives" has an answer even within a batch.
 */
export function newProfileId(): string {
  counter = (counter + 1) % 36 ** 4;
  return `prof_${Date.now().toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}
