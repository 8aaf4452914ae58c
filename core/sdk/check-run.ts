/**
 * The connector checks as plain functions: each returns a verdict instead of
 * calling `expect`, so `tributary test connector` (outside vitest) and the
 * vitest kits in test/kit share one definition of what a connector must do.
 */

export type Verdict = 'pass' | 'fail' | 'not-exercised';

export interface CheckOutcome {
  /** Stable check name, e.g. `interruption and resume`. */
  check: string;
  verdict: Verdict;
  /** Why it failed, or why it was not exercised. */
  reason?: string;
  ms: number;
}

/** Thrown by a check body: the check fails with this reason. */
export class CheckFailure extends Error {}

/** Thrown by a check body: the fixture gives nothing to run this check on. */
export class NotExercised extends Error {}

export function fail(reason: string): never {
  throw new CheckFailure(reason);
}

export function assertThat(cond: unknown, reason: string): asserts cond {
  if (!cond) throw new CheckFailure(reason);
}

export interface NamedCheck {
  check: string;
  /** Gets an AbortSignal that fires when the check times out; long calls should honour it. */
  run(signal: AbortSignal): Promise<void>;
}

/**
 * Run one check with a deadline. A connector call that never settles (a `read`
 * that never yields, a `write` that never returns) fails the check with a
 * message naming the connector and the check, instead of hanging the runner.
 */
export async function runCheck(connectorId: string, c: NamedCheck, timeoutMs: number): Promise<CheckOutcome> {
  const started = Date.now();
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ac.abort();
      reject(new CheckFailure(`${connectorId}: check "${c.check}" did not finish within ${timeoutMs} ms (a call that never yields or never returns)`));
    }, timeoutMs);
  });
  try {
    await Promise.race([c.run(ac.signal), deadline]);
    return { check: c.check, verdict: 'pass', ms: Date.now() - started };
  } catch (err) {
    const ms = Date.now() - started;
    if (err instanceof NotExercised) return { check: c.check, verdict: 'not-exercised', reason: err.message, ms };
    const why = err instanceof CheckFailure ? err.message : `threw: ${(err as Error)?.message ?? String(err)}`;
    return { check: c.check, verdict: 'fail', reason: why, ms };
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

export async function runChecks(connectorId: string, checks: NamedCheck[], timeoutMs: number): Promise<CheckOutcome[]> {
  const out: CheckOutcome[] = [];
  for (const c of checks) out.push(await runCheck(connectorId, c, timeoutMs));
  return out;
}

/** A short, stable rendering of a value for failure reasons. */
export function show(v: unknown, max = 160): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
