import type { CanonicalRecord } from '../schema/canonical.js';
import type { DeadLetterInput, ProfileStore, RunSummary } from '../store/types.js';
import { isSuppressed, payloadCandidateKeys, recordIdentifierKeys } from './suppression.js';

/**
 * The engine's suppression check, after normalization and before anything is
 * stored: records carrying a suppressed identifier are dropped and counted as
 * `suppressed` (not `written`); dead letters whose raw payload names a
 * suppressed email or phone are dropped too, so the data is not kept that way
 * either. `deadLetters` is filtered in place.
 */
export async function dropSuppressed(
  deps: { store: ProfileStore; summary: RunSummary; region: string },
  records: CanonicalRecord[],
  deadLetters: DeadLetterInput[],
): Promise<CanonicalRecord[]> {
  const { store, summary } = deps;
  if (!(records.length || deadLetters.length) || !(await store.privacy.hasSuppressions())) return records;
  const candidates = deadLetters.map((d) => payloadCandidateKeys(d.payload, deps.region));
  const suppressed = await store.privacy.suppressedAmong([...new Set([...recordIdentifierKeys(records), ...candidates.flat()])]);
  if (!suppressed.size) return records;
  const count = (stream: string) => {
    const st = summary.streams[stream];
    if (st) st.suppressed = (st.suppressed ?? 0) + 1;
    return st;
  };
  const kept = records.filter((r) => {
    if (!isSuppressed(r, suppressed)) return true;
    const st = count(r.stream);
    if (st && st.written > 0) st.written--;
    return false;
  });
  for (let i = deadLetters.length - 1; i >= 0; i--) {
    if (!candidates[i].some((k) => suppressed.has(k))) continue;
    const st = count(deadLetters[i].stream);
    if (st && st.deadLettered > 0) st.deadLettered--;
    deadLetters.splice(i, 1);
  }
  return kept;
}
