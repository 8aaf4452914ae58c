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
 *
 * Meant for one consumer at a time (a for-await): `next` is not called again
 * before the previous one settled.
 */
export function withReadIdleTimeout<T>(source: AsyncIterable<T>, idleMs: number, abort: AbortController, onIdle: () => ConnectionError): AsyncIterableIterator<T> {
  return new IdleTimeoutIterator(source, idleMs, abort, onIdle);
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * A hand-written iterator rather than an async generator: a generator's step
 * (its own promise and iterator result, and the await of the race) was, with the
 * race's promise, the costliest allocation of the read path per record.
 */
class IdleTimeoutIterator<T> implements AsyncIterableIterator<T> {
  private it: AsyncIterator<T> | undefined;
  private phase: 'new' | 'open' | 'closed' = 'new';
  // One timer for the whole read, re-armed before each wait (a timer and a race per record
  // were a measurable part of the engine's cost). It fires into the wait in progress, if any:
  // firing while the consumer works between items does nothing, and the next wait re-arms it.
  private timer: NodeJS.Timeout | undefined;
  private resolve: ((r: IteratorResult<T>) => void) | undefined;
  private reject: ((err: unknown) => void) | undefined;

  constructor(
    private readonly source: AsyncIterable<T>,
    private readonly idleMs: number,
    private readonly abort: AbortController,
    private readonly onIdle: () => ConnectionError,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.phase === 'closed') return Promise.resolve(DONE);
    if (this.phase === 'new') {
      try {
        this.it = this.source[Symbol.asyncIterator]();
      } catch (err) {
        this.phase = 'closed';
        return Promise.reject(err);
      }
      this.phase = 'open';
      this.timer = setTimeout(this.fire, this.idleMs);
    }
    this.timer!.refresh();
    try {
      const pending = this.it!.next();
      const wait = new Promise<IteratorResult<T>>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      });
      pending.then(this.settled, this.failed);
      return wait;
    } catch (err) {
      this.resolve = undefined;
      this.reject = undefined;
      return this.closeAfter(err);
    }
  }

  /** The consumer stopped early (an error, a break): let the connector clean up, as for-await would. */
  async return(): Promise<IteratorResult<T>> {
    if (this.phase !== 'open') {
      this.phase = 'closed';
      return DONE;
    }
    this.phase = 'closed';
    clearTimeout(this.timer);
    await this.it!.return?.();
    return DONE;
  }

  private take(): { resolve: (r: IteratorResult<T>) => void; reject: (err: unknown) => void } | undefined {
    const { resolve, reject } = this;
    if (!resolve || !reject) return undefined;
    this.resolve = undefined;
    this.reject = undefined;
    return { resolve, reject };
  }

  private readonly settled = (r: IteratorResult<T>): void => {
    const { resolve } = this;
    if (!resolve) return;
    this.resolve = undefined;
    this.reject = undefined;
    if (r.done) {
      this.phase = 'closed';
      clearTimeout(this.timer);
      resolve(DONE);
      return;
    }
    resolve(r.done === false ? r : { value: r.value, done: false });
  };

  private readonly failed = (err: unknown): void => {
    const waiter = this.take();
    if (waiter) this.closeAfter(err).then(waiter.resolve, waiter.reject);
  };

  /** The connector failed: it is asked to return (as a generator's finally did) and the failure goes to the consumer. */
  private async closeAfter(err: unknown): Promise<never> {
    this.phase = 'closed';
    clearTimeout(this.timer);
    await this.it?.return?.();
    throw err;
  }

  private readonly fire = (): void => {
    const waiter = this.take();
    if (!waiter) return;
    const err = this.onIdle();
    this.abort.abort(err);
    this.phase = 'closed';
    const it = this.it!;
    // Not awaited: the pending next() never settles; whatever it or return() does later is ignored.
    void Promise.resolve()
      .then(() => it.return?.())
      .catch(() => undefined);
    clearTimeout(this.timer);
    waiter.reject(err);
  };
}
