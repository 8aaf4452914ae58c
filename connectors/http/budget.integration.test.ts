import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryClock } from '../../core/delivery/rate-limit.js';
import type { ConfiguredStream, SourceMessage, StreamState } from '../../core/plugin/types.js';
import { testContext } from '../../test/kit/context.js';
import { startApiServer, type ApiServer } from './__fixtures__/api-server.js';
import { httpConfigSchema, type HttpConfig } from './config.js';
import { createHttpSource } from './source.js';

/** The request budget outlives a run: two runs in one hour (or one day) share one budget through the committed state. */

function fakeClock(): DeliveryClock & { advance(ms: number): void } {
  let t = Date.UTC(2025, 0, 1, 9);
  return {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

const stream = (name = 'users'): ConfiguredStream<Record<string, never>> => ({ name, mode: 'incremental', cursorField: 'updated_at', primaryKey: ['id'], config: {} });

const pageStream = {
  path: '/page',
  query: { updated_since: '{{ state.cursor }}' },
  recordSelector: 'data',
  paginator: { type: 'page', sizeParam: 'per_page', size: 3, totalPath: 'total' },
  primaryKey: ['id'],
  cursorField: 'updated_at',
} as const;

let server: ApiServer;
beforeAll(async () => {
  // 10 records at 3 a page: a full pass is 4 requests.
  server = await startApiServer({ records: 10, pageSize: 3 });
});
afterAll(async () => server.close());

function configFor(rateLimit: Record<string, unknown>, streams: Record<string, unknown> = { users: pageStream }): HttpConfig {
  return httpConfigSchema.parse({ baseUrl: server.url, rateLimit: { maxWaitMs: 1000, ...rateLimit }, retry: { attempts: 2, initialDelayMs: 1 }, streams });
}

/** One run, as the engine would do it: the state handed back is the last one yielded per stream (what it commits). */
async function run(clock: DeliveryClock, config: HttpConfig, streams: ConfiguredStream<Record<string, never>>[], state: Record<string, StreamState | undefined> = {}) {
  const before = server.calls.length;
  const committed: Record<string, StreamState | undefined> = { ...state };
  const messages: SourceMessage[] = [];
  let error: unknown;
  try {
    for await (const m of createHttpSource({ clock }).read(testContext(config), streams, state)) {
      messages.push(m);
      if (m.type === 'state') committed[m.stream] = m.state;
    }
  } catch (err) {
    error = err;
  }
  return { ids: messages.flatMap((m) => (m.type === 'record' ? [m.data.id as number] : [])), error, state: committed, requests: server.calls.length - before };
}

describe('http source: the request budget is saved between runs', () => {
  it('two runs in one hour share one hourly budget: the second stops "by the API\'s limit" without a request', async () => {
    const clock = fakeClock();
    const config = configFor({ perHour: 4 });
    const first = await run(clock, config, [stream()]);
    expect(first.error).toBeUndefined();
    expect(first.requests).toBe(4);
    const saved = first.state.users!.budget as { windows: Record<string, Array<[number, number]>> };
    // Kept as [second, count] pairs: bounded by the window's seconds, not by the budget's size.
    expect(saved.windows['default.perHour'].reduce((n, [, c]) => n + c, 0)).toBe(4);

    clock.advance(10 * 60_000);
    const second = await run(clock, config, [stream()], first.state);
    expect((second.error as Error).message).toMatch(/^stopped by the API's limit: the request budget \(4\/h\) is used up for the next \d+ s/);
    expect(second.requests).toBe(0);
    // The committed state is untouched: the next run resumes where the first ended.
    expect(second.state.users).toEqual(first.state.users);

    // Without the saved budget the same run would have gone through: it is the state that carries it.
    const fresh = await run(clock, config, [stream()], { users: { cursor: (first.state.users as { cursor: string }).cursor } });
    expect(fresh.error).toBeUndefined();
    expect(fresh.requests).toBeGreaterThan(0);

    clock.advance(60 * 60_000);
    const later = await run(clock, config, [stream()], first.state);
    expect(later.error).toBeUndefined();
    expect(later.requests).toBeGreaterThan(0);
  });

  it('a daily budget is shared across runs hours apart, and frees up after 24 hours', async () => {
    const clock = fakeClock();
    const config = configFor({ perDay: 6 });
    const first = await run(clock, config, [stream()]);
    expect(first.requests).toBe(4);
    clock.advance(3 * 3_600_000);
    // A full refresh from the start: 4 pages wanted, 2 left in the day.
    const full: ConfiguredStream<Record<string, never>> = { ...stream(), mode: 'full_refresh', cursorField: undefined };
    const second = await run(clock, config, [full], { users: { budget: first.state.users!.budget } });
    expect(second.requests).toBe(2);
    expect(second.ids).toEqual([1, 2, 3, 4, 5, 6]);
    expect((second.error as Error).message).toMatch(/^stopped by the API's limit: the daily request budget \(6\/day\) is used up for the next \d+ s/);
    // The stopped run's committed state resumes at page 3 once the day has room again.
    clock.advance(24 * 3_600_000);
    const third = await run(clock, config, [full], second.state);
    expect(third.error).toBeUndefined();
    expect(third.ids).toEqual([7, 8, 9, 10]);
  });

  it('the newest budget among the streams\' states wins (each holds the whole source\'s budget)', async () => {
    const clock = fakeClock();
    const config = configFor({ perHour: 9 }, { a: pageStream, b: pageStream });
    const first = await run(clock, config, [stream('a'), stream('b')]);
    expect(first.error).toBeUndefined();
    expect(first.requests).toBe(8);
    // Stream a's state was saved after 4 requests, b's after 8: the next run counts 8, so 1 request is left.
    const next = await run(clock, config, [stream('b'), stream('a')], first.state);
    expect(next.requests).toBe(1);
    expect((next.error as Error).message).toMatch(/request budget \(9\/h\) is used up/);
  });

  it('a malformed saved budget is ignored, never a crash', async () => {
    const clock = fakeClock();
    const config = configFor({ perHour: 4 });
    for (const budget of ['x', { at: 'now' }, { at: 1, windows: { 'default.perHour': [[1, -3], 'y'] } }, { at: 1, windows: [] }]) {
      const r = await run(clock, config, [stream()], { users: { budget } as StreamState });
      expect(r.error).toBeUndefined();
      expect(r.requests).toBe(4);
      clock.advance(3_600_000);
    }
  });

  it('a per-second budget alone adds nothing to the state', async () => {
    const r = await run(fakeClock(), configFor({ perSecond: 50 }), [stream()]);
    expect(Object.keys(r.state.users!)).not.toContain('budget');
  });
});
