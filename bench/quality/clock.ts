/**
 * The quality benchmarks' clock: a fixed start that moves one millisecond per reading.
 * Profile ages (which profile survives a merge, which presenter is tried first) come from
 * the resolver's clock; with the wall clock, two batches resolved in the same millisecond
 * could tie and a run could differ from the last. Pinned, every run sees the same times.
 */
export function pinnedClock(start = Date.UTC(2026, 0, 1)): () => Date {
  let t = start;
  return () => new Date(t++);
}
