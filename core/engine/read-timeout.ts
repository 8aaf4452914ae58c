import { ConnectionError } from '../errors.js';

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
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<'idle'>((resolve) => {
        timer = setTimeout(() => resolve('idle'), idleMs);
      });
      let r: IteratorResult<T> | 'idle';
      try {
        r = await Promise.race([it.next(), idle]);
      } finally {
        clearTimeout(timer);
      }
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
    // The consumer stopped early (an error, a break): let the connector clean up, as for-await would.
    if (!finished) await it.return?.();
  }
}
