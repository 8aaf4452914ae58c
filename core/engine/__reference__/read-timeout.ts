import { ConnectionError } from '../../errors.js';

/**
 * Iterate a connector's read, failing with `onIdle()` when it yields nothing for
 * `idleMs`: a plugin that never yields would otherwise hold its sync (and the
 * scheduler slot) for ever. Only the wait for the connector counts, not the time
 * the consumer spends between items (resolving and committing a batch).
 *
 * On timeout `abort` is aborted (the connector's ctx.signal, so a plugin that
 * honours it closes its cursor or socket) and the iterator is asked to return
 * without waiting for it: a generator stuck in an await cannot finish that.
 */
export async function* withReadIdleTimeout<T>(source: AsyncIterable<T>, idleMs: number, abort: AbortController, onIdle: () => ConnectionError): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  let finished = false;
  // One timer for the whole read, re-armed before each wait (a timer and a race per record
  // were a measurable part of the engine's cost). It fires into the wait in progress, if any:
  // firing while the consumer works between items does nothing, and the next wait re-arms it.
  let wake: ((r: 'idle') => void) | undefined;
  const timer = setTimeout(() => wake?.('idle'), idleMs);
  try {
    for (;;) {
      timer.refresh();
      const next = it.next();
      const r = await new Promise<IteratorResult<T> | 'idle'>((resolve, reject) => {
        wake = resolve;
        next.then(resolve, reject);
      });
      wake = undefined;
      if (r === 'idle') {
        const err = onIdle();
        abort.abort(err);
        finished = true;
        // Not awaited: the pending next() never settles; whatever it or return() does later is ignored.
        void Promise.resolve()
          .then(() => it.return?.())
          .catch(() => undefined);
        throw err;
      }
      if (r.done) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } finally {
    clearTimeout(timer);
    // The consumer stopped early (an error, a break): let the connector clean up, as for-await would.
    if (!finished) await it.return?.();
  }
}
