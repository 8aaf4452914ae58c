import { expect, it } from 'vitest';
import type { ConfiguredStream, SourceConnector } from '../../../core/plugin/types.js';
import { collect } from '../../../test/kit/source-kit.js';
import { expectExactlyOnce, ids } from './read-helpers.js';

export interface TieSuiteOptions<C, S> {
  source: SourceConnector<C, S>;
  /** Connector config with the given paging. */
  config(paging: { batchSize: number; checkpointEvery: number }): C;
  /** The seeded `ties` stream (cursor `ts`, key `id`, shared and NULL timestamps) in a mode. */
  stream(mode: 'incremental' | 'full_refresh'): ConfiguredStream<S>;
  /** Rows in the ties table; read lazily, as it is seeded in beforeAll. */
  count(): number;
}

/**
 * The keyset contract every SQL source must keep on a table whose rows share
 * cursor values across page boundaries: each row exactly once, in (cursor, key)
 * order, from the start and from every state message; full refresh by key.
 */
export function keysetTieTests<C, S>(o: TieSuiteOptions<C, S>): void {
  for (const checkpointEvery of [3, 7]) {
    it(`ties at page boundaries are neither lost nor repeated, resuming from any state (batch 7, checkpoint every ${checkpointEvery})`, async () => {
      const config = o.config({ batchSize: 7, checkpointEvery });
      const full = await collect(o.source, config, [o.stream('incremental')]);
      expectExactlyOnce(ids(full.records), o.count());
      // NULL cursors first (by id), then by (ts, id): the order the state relies on.
      const keys = full.records.map((r) => [r.data.ts === null ? '' : String(r.data.ts), Number(r.data.id)] as const);
      const sorted = [...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
      expect(keys).toEqual(sorted);
      const seen: string[] = [];
      let resumed = 0;
      for (const m of full.messages) {
        if (m.type === 'record') seen.push(String(m.data.id));
        if (m.type !== 'state') continue;
        const rest = await collect(o.source, config, [o.stream('incremental')], { ties: m.state });
        expectExactlyOnce([...seen, ...ids(rest.records)], o.count());
        resumed++;
      }
      expect(resumed).toBeGreaterThan(o.count() / checkpointEvery - 1);
    });
  }

  it('full refresh pages by primary key, resumes from a checkpoint and starts over after a finished run', async () => {
    const config = o.config({ batchSize: 7, checkpointEvery: 4 });
    const full = await collect(o.source, config, [o.stream('full_refresh')]);
    expectExactlyOnce(ids(full.records), o.count());
    expect(ids(full.records).map(Number)).toEqual(ids(full.records).map(Number).sort((a, b) => a - b));
    expect(full.messages.at(-1)).toMatchObject({ type: 'state', state: { mode: 'full_refresh', done: true } });
    const mid = full.messages.findIndex((m) => m.type === 'state');
    const before = full.messages.slice(0, mid).filter((m) => m.type === 'record').length;
    const midState = full.messages[mid];
    const rest = await collect(o.source, config, [o.stream('full_refresh')], { ties: midState.type === 'state' ? midState.state : undefined });
    expect(rest.records.length).toBe(o.count() - before);
    const again = await collect(o.source, config, [o.stream('full_refresh')], { ties: full.states.get('ties') });
    expect(again.records.length).toBe(o.count());
  });
}
