/**
 * Named fault-injection points, for tests that must prove what a crash or a
 * failure at one exact place leaves behind (crash-safety, one transaction per batch).
 *
 * Tests set `TRIBUTARY_FAULT` in a child process's environment:
 *
 *   TRIBUTARY_FAULT=commit.after-records:kill@3      SIGKILL on the 3rd time the point is reached
 *   TRIBUTARY_FAULT=commit.after-records:throw@2     throw a FaultInjectedError there instead
 *   TRIBUTARY_FAULT=resolve.inside-lock:kill@4,commit.after:throw@9   several points, comma-separated
 *   TRIBUTARY_FAULT=batch.after-commit:pause=2000    block the process 2,000 ms there (a slow batch, deterministically),
 *                                                    after writing `TRIBUTARY_FAULT: <point> paused <ms> ms (hit <n>)` to stderr
 *
 *   TRIBUTARY_FAULT=read.after-record:pause=4000@1250   block after the 1,250th row read, then let a signal sent meanwhile
 *                                                    be handled before the next row (a stop between two checkpoints)
 *
 * `@n` defaults to 1. The variable is read once, at module load: with it unset,
 * `fault()` is a lookup in an empty map and nothing else. Production never sets it.
 * A point reached once per row is called only where `isArmed` said so when the run began.
 */

/** Every point the code calls, in the order one batch reaches them. */
export const FAULT_POINTS = [
  /**
   * sync-runner read loop: a row (record or unparsable row) was read and counted, before its batch is full; hit n is the
   * n-th row the process has read, across streams and runs (as for every point, hits count per process: in a daemon or
   * worker that runs several syncs, the first sync's rows come first). After a pause the loop lets the process's signal listeners run before it
   * looks at its stop signal (letSignalsIn), so a SIGTERM sent during the pause stops the read right after this row.
   */
  'read.after-record',
  /**
   * sync-runner, with the commit thread: a batch (the last one may hold only the read's final checkpoint) is about to
   * be resolved and handed over, behind the batches in flight. After a pause the thread's answers are let in first.
   */
  'batch.before-resolve',
  /** sync-runner: the store's write transaction is open, the resolver has not run yet. */
  'resolve.inside-lock',
  /** sqlite-store commitBatch: resolved, before its rows are written (into the engine's transaction, or one of its own). */
  'commit.before-transaction',
  /** sqlite-store commitBatch: merges applied and the batch's records written; links, profiles, outbox, checkpoint not yet. */
  'commit.after-records',
  /** sqlite-store commitBatch: every row of the batch written, the checkpoint too; the transaction not yet committed. */
  'commit.before-commit',
  /** sqlite-store exclusive: the COMMIT statement is about to run. */
  'commit.inside',
  /** sqlite-store exclusive: COMMIT returned; the batch is durable. */
  'commit.after',
  /** sync-runner: the batch is committed and the write lock released; outside any transaction. */
  'batch.after-commit',
  /** pg-commit commitBatchPg: merges applied and the batch's records written; the rest not yet. */
  'pgcommit.after-records',
  /** pg-commit commitBatchPg: every row of the batch written; the transaction not yet committed. */
  'pgcommit.before-commit',
  /** pg-store exclusive: resolved and written, the COMMIT (and the release of the resolve lock) is about to run. */
  'pgcommit.inside',
  /** pg-store exclusive: COMMIT returned; the batch is durable. */
  'pgcommit.after',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];
type Action = 'kill' | 'throw' | 'pause';

/** What a `throw` fault raises, so a test can tell it from a real failure. */
export class FaultInjectedError extends Error {
  constructor(point: string, hit: number) {
    super(`fault injected at ${point} (hit ${hit})`);
    this.name = 'FaultInjectedError';
  }
}

interface Armed {
  action: Action;
  at: number;
  hits: number;
  /** For `pause`: how long the process is blocked. */
  ms?: number;
}

/** Parses `point:action[@n],...`; anything malformed is reported once on stderr and ignored (this is test-only input). */
export function parseFaultSpec(spec: string | undefined): Map<string, Armed> {
  const out = new Map<string, Armed>();
  if (!spec) return out;
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z.-]+):(kill|throw|pause=(\d+))(?:@(\d+))?$/.exec(part);
    if (!m || !(FAULT_POINTS as readonly string[]).includes(m[1]) || (m[4] !== undefined && Number(m[4]) < 1)) {
      process.stderr.write(`TRIBUTARY_FAULT: ignoring "${part}" (expected <point>:kill|throw|pause=<ms>[@n], points: ${FAULT_POINTS.join(', ')})\n`);
      continue;
    }
    const action = (m[3] === undefined ? m[2] : 'pause') as Action;
    out.set(m[1], { action, at: m[4] === undefined ? 1 : Number(m[4]), hits: 0, ...(m[3] === undefined ? {} : { ms: Number(m[3]) }) });
  }
  return out;
}

const armed = parseFaultSpec(process.env.TRIBUTARY_FAULT);

/** Whether TRIBUTARY_FAULT names this point: a caller on a hot path asks once and calls `fault` only when it does. */
export function isArmed(point: FaultPoint): boolean {
  return armed.has(point);
}

/**
 * Marks a place where a test may crash or fail the process. A no-op unless TRIBUTARY_FAULT names this point.
 * Returns true when it paused there (the caller may then `await letSignalsIn()`).
 */
export function fault(point: FaultPoint): boolean {
  if (armed.size === 0) return false;
  const a = armed.get(point);
  if (!a || ++a.hits !== a.at) return false;
  if (a.action === 'pause') {
    // Blocks the whole process, as a long synchronous commit does; the point then carries on. The line first, so a
    // test can act while the process is held (send a signal) instead of guessing when that is from the store.
    process.stderr.write(`TRIBUTARY_FAULT: ${point} paused ${a.ms ?? 0} ms (hit ${a.hits})\n`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, a.ms ?? 0);
    return true;
  }
  if (a.action === 'kill') {
    // SIGKILL, not exit(): no finally blocks, no ROLLBACK, no flush; what a power cut or OOM kill leaves.
    process.kill(process.pid, 'SIGKILL');
  }
  throw new FaultInjectedError(point, a.hits);
}

/**
 * Resolves once a signal that arrived while the process was blocked has been handled (its listeners have run).
 * libuv reads pending signals in the poll phase of a loop turn; a pause can end in any phase, and the first
 * setImmediate may run before the next poll, the second never does.
 */
export async function letSignalsIn(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
