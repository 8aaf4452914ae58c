import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRng } from '../../bench/quality/prng.js';
import { ConnectionError } from '../errors.js';
import { withReadIdleTimeout } from './read-timeout.js';
import { withReadIdleTimeout as referenceTimeout } from './__reference__/read-timeout.js';

// Issue 13 replaced the idle-timeout generator by a hand-written iterator. On seeded connectors
// (slow, fast, failing, hanging, with a consumer that is slow or stops early) both must give the
// same items, errors, aborts and clean-ups at the same (fake) times.

afterEach(() => vi.useRealTimers());

type Wrap = typeof withReadIdleTimeout;

interface Plan {
  items: number;
  delays: number[];
  /** The item before which the connector fails, or hangs; beyond `items` when it does neither. */
  failAt: number;
  hangAt: number;
  consumerDelays: number[];
  breakAt: number;
  throwInBody: number;
  idleMs: number;
  sync: boolean;
}

function plan(seed: number): Plan {
  const rng = createRng(seed);
  const items = rng.int(0, 12);
  const idleMs = rng.pick([50, 100, 250]);
  return {
    items,
    delays: Array.from({ length: items + 1 }, () => (rng.chance(0.4) ? 0 : rng.int(1, idleMs * 1.5))),
    failAt: rng.chance(0.25) ? rng.int(0, items) : Infinity,
    hangAt: rng.chance(0.25) ? rng.int(0, items) : Infinity,
    consumerDelays: Array.from({ length: items + 1 }, () => (rng.chance(0.5) ? 0 : rng.int(1, idleMs * 3))),
    breakAt: rng.chance(0.2) ? rng.int(0, items) : Infinity,
    throwInBody: rng.chance(0.1) ? rng.int(0, items) : Infinity,
    idleMs,
    sync: rng.chance(0.3),
  };
}

async function scenario(wrap: Wrap, p: Plan): Promise<unknown[]> {
  const log: unknown[] = [];
  const at = () => Date.now();
  async function* connector() {
    try {
      for (let i = 0; i <= p.items; i++) {
        if (!p.sync && p.delays[i] > 0) await new Promise((r) => setTimeout(r, p.delays[i]));
        if (i === p.hangAt) await new Promise(() => undefined);
        if (i === p.failAt) throw new Error(`connector failed before ${i}`);
        if (i === p.items) return;
        yield { i };
      }
    } finally {
      log.push(['connector finally', at()]);
    }
  }
  const source: AsyncIterable<{ i: number }> = {
    [Symbol.asyncIterator]() {
      const g = connector();
      return {
        next: () => g.next(),
        return: async () => {
          log.push(['return asked', at()]);
          return g.return(undefined);
        },
      };
    },
  };
  const ac = new AbortController();
  ac.signal.addEventListener('abort', () => log.push(['aborted', at(), String(ac.signal.reason)]));
  const run = (async () => {
    let n = 0;
    for await (const v of wrap(source, p.idleMs, ac, () => new ConnectionError(`idle at ${at()}`, {}, { retryable: false }))) {
      log.push(['got', v.i, at()]);
      if (p.consumerDelays[n] > 0) await new Promise((r) => setTimeout(r, p.consumerDelays[n]));
      if (n === p.throwInBody) throw new Error('consumer failed');
      if (n === p.breakAt) break;
      n++;
    }
  })().then(
    () => log.push(['done', at()]),
    (e: Error) => log.push(['threw', e.message, at()]),
  );
  for (let t = 0; t < 200; t++) await vi.advanceTimersByTimeAsync(25);
  await run;
  return log;
}

describe('withReadIdleTimeout against the generator it replaced, seeded', () => {
  it('the same items, errors, aborts and clean-ups at the same times', async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const p = plan(seed);
      vi.useFakeTimers({ now: 0 });
      const now = await scenario(withReadIdleTimeout, p);
      vi.useRealTimers();
      vi.useFakeTimers({ now: 0 });
      const ref = await scenario(referenceTimeout, p);
      vi.useRealTimers();
      expect(now, `seed ${seed}: ${JSON.stringify(p)}`).toEqual(ref);
    }
  }, 60_000);
});
