import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { ConfiguredStream, RecordMessage, SourceConnector, SourceMessage, StreamState } from '../../../core/plugin/types.js';
import { collect } from '../../../test/kit/source-kit.js';

export interface CompositeTieSuiteOptions<C, S> {
  source: SourceConnector<C, S>;
  /** Connector config with the given paging. */
  config(paging: { batchSize: number; checkpointEvery: number }): C;
  /** A stream over `table` (the suite sets its primary key and cursor). */
  stream(table: string): ConfiguredStream<S>;
  /** Runs one statement against the test database. */
  exec(sql: string): Promise<unknown>;
  /** The column type for a nullable timestamp: DATETIME (MySQL) or TIMESTAMP (PostgreSQL). */
  timestampType: string;
}

const TENANTS = ['t1', 't10', 't2'];
const DAYS = ['2024-05-01 00:00:00', '2024-05-02 00:00:00', '2024-05-03 00:00:00', null];

/**
 * Rows of (tenant, id, ts) where many share the cursor value and also the first
 * key column, in runs of 1 to 9, so pages of 4 or 7 end inside a tie of the
 * cursor, inside a tie of (cursor, tenant), and exactly on the boundary of one.
 * Tenants sort as strings ('t1' < 't10' < 't2'); ids repeat across tenants.
 */
function tieRows(): Array<[string, number, string | null]> {
  const rows: Array<[string, number, string | null]> = [];
  let run = 0;
  for (const day of DAYS) {
    for (const tenant of TENANTS) {
      const len = [1, 4, 9, 3, 7, 2, 8, 5, 6][run++ % 9];
      for (let k = 0; k < len; k++) rows.push([tenant, ((run * 37 + k * 11) % 97) + 1, day]);
    }
  }
  // Drop accidental duplicate keys, keeping the first.
  const seen = new Set<string>();
  return rows.filter(([t, id]) => !seen.has(`${t}/${id}`) && seen.add(`${t}/${id}`));
}

const keyOf = (r: RecordMessage) => `${String(r.data.tenant)}/${Number(r.data.id)}`;

function expectEachOnce(got: string[], expected: string[]): void {
  const dupes = got.filter((k, i) => got.indexOf(k) !== i);
  expect(dupes, 'read twice').toEqual([]);
  expect([...got].sort(), 'lost or unexpected').toEqual([...expected].sort());
}

/**
 * Keyset paging over a composite primary key (tenant, id) with a cursor `ts`,
 * against the real server: from the start and from every state message the
 * read saw (as JSON, as the store keeps it), each row exactly once; the same
 * for full refresh, which pages by (tenant, id).
 */
export function compositeKeyTieTests<C, S>(o: CompositeTieSuiteOptions<C, S>): void {
  const table = `ties_pk_${process.pid}_${randomBytes(3).toString('hex')}`;
  const rows = tieRows();
  const all = rows.map(([t, id]) => `${t}/${id}`);
  const stream = (mode: 'incremental' | 'full_refresh'): ConfiguredStream<S> => ({
    ...o.stream(table),
    name: 'ties_pk',
    mode,
    primaryKey: ['tenant', 'id'],
    cursorField: mode === 'incremental' ? 'ts' : undefined,
  });

  describe('keyset ties with a composite primary key (tenant, id)', () => {
    beforeAll(async () => {
      await o.exec(`CREATE TABLE ${table} (tenant VARCHAR(8) NOT NULL, id INT NOT NULL, ts ${o.timestampType} NULL, PRIMARY KEY (tenant, id))`);
      const values = rows.map(([t, id, ts]) => `('${t}', ${id}, ${ts === null ? 'NULL' : `'${ts}'`})`).join(', ');
      await o.exec(`INSERT INTO ${table} (tenant, id, ts) VALUES ${values}`);
    });
    afterAll(async () => {
      await o.exec(`DROP TABLE IF EXISTS ${table}`);
    });

    it('the data has ties of the cursor and of (cursor, first key column) longer than a page', () => {
      const groups = new Map<string, number>();
      for (const [t, , ts] of rows) groups.set(`${ts}|${t}`, (groups.get(`${ts}|${t}`) ?? 0) + 1);
      expect(Math.max(...groups.values())).toBeGreaterThan(7);
      expect(rows.length).toBeGreaterThan(40);
    });

    for (const [batchSize, checkpointEvery] of [[4, 3], [7, 5], [4, 4]] as const) {
      it(`incremental: from the start and from every saved state, each row exactly once (batch ${batchSize}, checkpoint every ${checkpointEvery})`, async () => {
        const config = o.config({ batchSize, checkpointEvery });
        const full = await collect(o.source, config, [stream('incremental')]);
        expectEachOnce(full.records.map(keyOf), all);
        // NULL cursors first, then by (ts, tenant, id): the order the saved key relies on.
        const order = full.records.map((r) => [r.data.ts === null ? '' : new Date(r.data.ts as string).toISOString(), String(r.data.tenant), Number(r.data.id)] as const);
        const sorted = [...order].sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] !== b[1] ? (a[1] < b[1] ? -1 : 1) : a[2] - b[2]));
        expect(order).toEqual(sorted);
        await expectResumesFromEveryState(config, full.messages, 'incremental');
      });
    }

    it('full refresh pages by (tenant, id) and resumes from every saved state, each row exactly once', async () => {
      const config = o.config({ batchSize: 4, checkpointEvery: 3 });
      const full = await collect(o.source, config, [stream('full_refresh')]);
      expectEachOnce(full.records.map(keyOf), all);
      const order = full.records.map((r) => [String(r.data.tenant), Number(r.data.id)] as const);
      expect(order).toEqual([...order].sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] - b[1])));
      await expectResumesFromEveryState(config, full.messages, 'full_refresh');
    });
  });

  async function expectResumesFromEveryState(config: C, messages: SourceMessage[], mode: 'incremental' | 'full_refresh') {
    const seen: string[] = [];
    let resumed = 0;
    for (const m of messages) {
      if (m.type === 'record') seen.push(keyOf(m));
      if (m.type !== 'state') continue;
      const saved = JSON.parse(JSON.stringify(m.state)) as StreamState;
      // A finished full refresh starts over; every other state resumes after what it covers.
      const finished = mode === 'full_refresh' && (saved as { done?: boolean }).done === true;
      const rest = await collect(o.source, config, [stream(mode)], { ties_pk: saved });
      if (finished) expectEachOnce(rest.records.map(keyOf), all);
      else expectEachOnce([...seen, ...rest.records.map(keyOf)], all);
      resumed++;
    }
    expect(resumed).toBeGreaterThanOrEqual(Math.floor(all.length / 7));
  }
}
