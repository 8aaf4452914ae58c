import { expect } from 'vitest';
import { firstDifference, type StoreSnapshot } from './store-snapshot.js';

/**
 * "A run resumed after a stop between checkpoints leaves the store a clean run leaves", for the SIGTERM tests
 * (test/daemon*.integration.test.ts, core/queue/*sigterm*): the rows read after the last checkpoint are committed
 * by the stopped run and read again by the next one, which may legitimately change what this view leaves out.
 */

/**
 * The store as a clean run leaves it, minus what reading the rows after the last
 * checkpoint a second time may legitimately change: sequence numbers (records,
 * refusals, merges and the outbox are re-upserted or follow an extra merge, so they
 * take new ones), the profiles a refusal names (a re-read record is in its own
 * profile by then), and how many times one bad row is dead-lettered (the stopped run
 * committed them without a checkpoint, so the next run dead-letters them again).
 * Everything else must be equal: records and their profiles, links, identifiers,
 * merges, aliases, the outbox's profiles and merged ids, profiles, state, and the set
 * of dead letters with their payloads (merges the stop itself causes are taken out
 * first, see withoutMerges).
 */
export function reReadView(s: StoreSnapshot) {
  const drop = (rows: unknown[], ...cols: string[]) =>
    rows.map((r) => Object.fromEntries(Object.entries(r as Record<string, unknown>).filter(([k]) => !cols.includes(k))));
  const distinct = (rows: unknown[]) => [...new Set(rows.map((r) => JSON.stringify(r)))].sort();
  return {
    ...s,
    records: drop(s.records, 'seq'),
    refused: distinct(drop(s.refused, 'seq', 'profiles')),
    merges: drop(s.merges, 'seq'),
    outbox: distinct(drop(s.outbox, 'seq')),
    // Counters of transactions (outbox seqs, graph-writing commits) depend on how many batches the runs took.
    meta: drop(s.meta.filter((m) => !['outbox_seq', 'graph_generation'].includes((m as { key: string }).key))),
    deadLetters: distinct(drop(s.deadLetters, 'id')),
  };
}

export type Merge = { seq: number; survivor: string; absorbed: string; record_key: string };

/** Merges of `after` that `clean` does not have (compared without their sequence numbers). */
export function extraMerges(after: StoreSnapshot, clean: StoreSnapshot): Merge[] {
  const key = ({ seq: _seq, ...m }: Merge) => JSON.stringify(m);
  const known = new Set((clean.merges as Merge[]).map(key));
  return (after.merges as Merge[]).filter((m) => !known.has(key(m)));
}

/**
 * The store without the given merges and what follows from each of them alone: the
 * alias of the profile it absorbed and that id in outbox rows' `merged_from`.
 */
export function withoutMerges(s: StoreSnapshot, merges: Merge[]): StoreSnapshot {
  const absorbed = new Set(merges.map((m) => m.absorbed));
  const outbox = (s.outbox as Array<{ merged_from: string | null }>).map((o) => {
    const from = o.merged_from ? (JSON.parse(o.merged_from) as string[]) : [];
    return from.some((id) => absorbed.has(id)) ? { ...o, merged_from: JSON.stringify(from.filter((id) => !absorbed.has(id))) } : o;
  });
  return {
    ...s,
    merges: s.merges.filter((m) => !merges.includes(m as Merge)),
    aliases: (s.aliases as Array<{ alias: string }>).filter((a) => !absorbed.has(a.alias)),
    outbox,
  };
}

/** Every table of reReadView(`resumed`, the given merges taken out) equals a clean run's, each failure naming its first differing row. */
export function expectResumedLikeClean(resumed: StoreSnapshot, clean: StoreSnapshot, allowedMerges: Merge[] = []): void {
  const actual = reReadView(withoutMerges(resumed, allowedMerges));
  const expected = reReadView(clean);
  for (const table of Object.keys(expected) as Array<keyof typeof expected>) {
    expect(firstDifference(actual[table], expected[table], { actual: 'resumed', expected: 'clean' }), `table ${table}`).toBeUndefined();
  }
}
