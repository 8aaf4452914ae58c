import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors.js';
import type { SourceMessage, StreamState } from '../../core/plugin/types.js';
import { captureLogger } from '../../test/kit/context.js';
import { keysetAfter, phaseClauses, type Phase } from './keyset.js';
import { readKeyset, type KeysetRows } from './read-keyset.js';
import { initialState, requireKey, resumeState, type KeysetPlan, type KeyValue } from './state.js';
import { offsetTimestampToIso, resolveZone, wallClockToIso, type WallClockZone } from './timestamps.js';

describe('keysetAfter', () => {
  const bind = (i: number) => `:${i}`;
  it('one column is a plain comparison', () => {
    expect(keysetAfter(['`id`'], bind)).toBe('(`id` > :0)');
  });
  it('(cursor, pk) is strictly after, never >=', () => {
    expect(keysetAfter(['c', 'pk'], bind)).toBe('((c > :0) OR (c = :0 AND pk > :1))');
  });
  it('a composite key compares lexicographically', () => {
    expect(keysetAfter(['c', 'a', 'b'], bind)).toBe('((c > :0) OR (c = :0 AND a > :1) OR (c = :0 AND a = :1 AND b > :2))');
  });
  it('refuses no columns', () => {
    expect(() => keysetAfter([], bind)).toThrow(/no key columns/);
  });
});

describe('phaseClauses', () => {
  const base = { cursor: 'c', primaryKey: ['id'], bind: (i: number) => `$${i + 1}` };
  it('full refresh from the start has no WHERE and orders by key', () => {
    expect(phaseClauses({ ...base, phase: 'all', after: null })).toEqual({ where: null, orderBy: 'id' });
  });
  it('full refresh resumes after the last key', () => {
    expect(phaseClauses({ ...base, phase: 'all', after: [5] })).toEqual({ where: '(id > $1)', orderBy: 'id' });
  });
  it('the nulls phase reads NULL cursors by key', () => {
    expect(phaseClauses({ ...base, phase: 'nulls', after: [5] })).toEqual({ where: 'c IS NULL AND (id > $1)', orderBy: 'id' });
  });
  it('the values phase starts with non-NULL cursors, then resumes after (cursor, key)', () => {
    expect(phaseClauses({ ...base, phase: 'values', after: null })).toEqual({ where: 'c IS NOT NULL', orderBy: 'c, id' });
    expect(phaseClauses({ ...base, phase: 'values', after: ['t', 5] })).toEqual({ where: '((c > $1) OR (c = $1 AND id > $2))', orderBy: 'c, id' });
  });
  it('refuses a key of the wrong length', () => {
    expect(() => phaseClauses({ ...base, phase: 'values', after: [5] })).toThrow(/expected 2 key values/);
  });
});

const incPlan: KeysetPlan = { stream: 's', mode: 'incremental', cursorField: 'c', primaryKey: ['id'], cursorNullable: true };
const fullPlan: KeysetPlan = { stream: 's', mode: 'full_refresh', primaryKey: ['id'], cursorNullable: false };

describe('state', () => {
  it('starts from nothing', () => {
    expect(initialState(incPlan)).toEqual({ v: 1, mode: 'incremental', cursorField: 'c', primaryKey: ['id'], nullsAfter: null, after: null });
    expect(initialState(fullPlan)).toEqual({ v: 1, mode: 'full_refresh', primaryKey: ['id'], after: null, done: false });
  });
  it('incremental without a cursor is a ConfigError', () => {
    expect(() => initialState({ ...incPlan, cursorField: undefined })).toThrow(ConfigError);
  });
  it('resumes from a matching state', () => {
    const saved = { v: 1, mode: 'incremental', cursorField: 'c', primaryKey: ['id'], nullsAfter: [3], after: { cursor: '2024-01-01 00:00:00', pk: [9] } };
    expect(resumeState(incPlan, saved, captureLogger())).toEqual(saved);
  });
  it('a finished full refresh starts over', () => {
    const saved = { v: 1, mode: 'full_refresh', primaryKey: ['id'], after: [99], done: true };
    expect(resumeState(fullPlan, saved, captureLogger())).toEqual(initialState(fullPlan));
    expect(resumeState(fullPlan, { ...saved, done: false }, captureLogger())).toEqual({ ...saved, done: false });
  });
  it('a state for another cursor, key or mode is ignored with a warning', () => {
    const logger = captureLogger();
    const saved = { v: 1, mode: 'incremental', cursorField: 'updated', primaryKey: ['id'], nullsAfter: null, after: { cursor: 'x', pk: [1] } };
    expect(resumeState(incPlan, saved, logger)).toEqual(initialState(incPlan));
    expect(resumeState(incPlan, { ...saved, cursorField: 'c', primaryKey: ['a', 'b'] }, logger)).toEqual(initialState(incPlan));
    expect(resumeState(fullPlan, { ...saved, cursorField: 'c' }, logger)).toEqual(initialState(fullPlan));
    expect(logger.entries.map((e) => e.message)).toEqual([
      'saved state ignored, its cursor was updated: reading the stream from the start',
      'saved state ignored, it was keyed on (a, b): reading the stream from the start',
      'saved state ignored, it was written in incremental mode: reading the stream from the start',
    ]);
  });
  it('a state that is not ours is a ConfigError naming the stream', () => {
    const err = (() => {
      try {
        resumeState(incPlan, { cursor: '2024-01-01' }, captureLogger());
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).describe()).toMatch(/^stream s: saved state is not a state this connector wrote/);
  });
  it('requireKey refuses a NULL key part, naming the column', () => {
    expect(requireKey([1, 'a'], ['id', 'b'], 's')).toEqual([1, 'a']);
    expect(() => requireKey([1, null], ['id', 'b'], 's')).toThrow(/key column b is NULL/);
  });
});

/** A fake table that really applies keyset order and LIMIT, so readKeyset can be tested without a server. */
interface FakeRow {
  id: number;
  c: string | null;
  converted?: boolean;
}

function fakeRows(table: FakeRow[], pageSize: number, onQuery?: (phase: Phase, after: KeyValue[] | null) => void): KeysetRows<FakeRow> {
  const cmp = (a: Array<string | number>, b: KeyValue[]) => {
    for (let i = 0; i < a.length; i++) {
      if (a[i] < (b[i] as string | number)) return -1;
      if (a[i] > (b[i] as string | number)) return 1;
    }
    return 0;
  };
  const keyOf = (r: FakeRow, phase: Phase): KeyValue[] => {
    if (r.converted) throw new Error('keyOf called on a converted row');
    return phase === 'values' ? [r.c!, r.id] : [r.id];
  };
  return {
    async *batches(phase, after) {
      onQuery?.(phase, after);
      const rows = table
        .filter((r) => (phase === 'all' ? true : phase === 'nulls' ? r.c === null : r.c !== null))
        .map((r) => ({ ...r }))
        .sort((a, b) => cmp(keyOf(a, phase) as Array<string | number>, keyOf(b, phase)))
        .filter((r) => !after || cmp(keyOf(r, phase) as Array<string | number>, after) > 0);
      for (let i = 0; i < rows.length; i += pageSize) yield rows.slice(i, i + pageSize);
    },
    keyOf,
    toData(row) {
      // Like the MySQL source: the row becomes the record in place.
      row.converted = true;
      return { id: row.id, c: row.c };
    },
  };
}

async function drain(gen: AsyncGenerator<SourceMessage[]>, stopAfter?: (m: SourceMessage) => boolean): Promise<SourceMessage[]> {
  const out: SourceMessage[] = [];
  for await (const chunk of gen) {
    for (const m of chunk) {
      out.push(m);
      if (stopAfter?.(m)) return out;
    }
  }
  return out;
}

const run = (table: FakeRow[], plan: KeysetPlan, saved: StreamState | undefined, opts: { page?: number; every?: number; signal?: AbortSignal } = {}) =>
  readKeyset({ plan, saved, checkpointEvery: opts.every ?? 3, origin: 'table t', rows: fakeRows(table, opts.page ?? 4), signal: opts.signal ?? new AbortController().signal, logger: captureLogger() });

const TABLE: FakeRow[] = [
  { id: 7, c: 'b' }, { id: 1, c: 'a' }, { id: 2, c: null }, { id: 3, c: 'a' }, { id: 9, c: 'a' }, { id: 4, c: 'b' },
  { id: 5, c: null }, { id: 6, c: 'c' }, { id: 8, c: 'a' }, { id: 10, c: 'b' }, { id: 11, c: null }, { id: 12, c: 'b' },
];

describe('readKeyset', () => {
  it('reads NULL cursors by key, then (cursor, key) order, and ends with a state', async () => {
    const msgs = await drain(run(TABLE, incPlan, undefined));
    const ids = msgs.filter((m) => m.type === 'record').map((m) => (m.type === 'record' ? m.data.id : 0));
    expect(ids).toEqual([2, 5, 11, 1, 3, 8, 9, 4, 7, 10, 12, 6]);
    expect(msgs.at(-1)).toEqual({
      type: 'state',
      stream: 's',
      state: { v: 1, mode: 'incremental', cursorField: 'c', primaryKey: ['id'], nullsAfter: [11], after: { cursor: 'c', pk: [6] } },
    });
    expect(msgs.find((m) => m.type === 'record')).toEqual({ type: 'record', stream: 's', data: { id: 2, c: null }, origin: 'table t' });
  });

  it('a state comes every `checkpointEvery` records, after the records it covers', async () => {
    const msgs = await drain(run(TABLE, incPlan, undefined, { every: 5 }));
    const kinds = msgs.map((m) => (m.type === 'state' ? 'S' : 'r')).join('');
    expect(kinds).toBe('rrrrrSrrrrrSrrS');
    expect(msgs[5]).toMatchObject({ state: { nullsAfter: [11], after: { cursor: 'a', pk: [3] } } });
  });

  it('resuming from any state reads exactly the rest, for any page size and checkpoint interval', async () => {
    for (const page of [1, 2, 3, 5, 100]) {
      for (const every of [1, 2, 4, 7]) {
        const msgs = await drain(run(TABLE, incPlan, undefined, { page, every }));
        const before: number[] = [];
        for (const m of msgs) {
          if (m.type === 'record') before.push(m.data.id as number);
          if (m.type !== 'state') continue;
          const rest = (await drain(run(TABLE, incPlan, m.state, { page, every }))).filter((x) => x.type === 'record').map((x) => (x.type === 'record' ? x.data.id : 0));
          const all = [...before, ...rest];
          expect(all.length).toBe(TABLE.length);
          expect(new Set(all).size).toBe(TABLE.length);
        }
      }
    }
  });

  it('an incremental run from the final state reads only what changed or was added', async () => {
    const first = await drain(run(TABLE, incPlan, undefined));
    const last = first.at(-1);
    const changed = [...TABLE.filter((r) => r.id !== 4), { id: 4, c: 'd' }, { id: 13, c: null }, { id: 14, c: 'c' }];
    const second = await drain(run(changed, incPlan, last?.type === 'state' ? last.state : undefined));
    expect(second.filter((m) => m.type === 'record').map((m) => (m.type === 'record' ? m.data.id : 0))).toEqual([13, 14, 4]);
  });

  it('full refresh reads by key, marks the end as done, and a done state starts over', async () => {
    const msgs = await drain(run(TABLE, fullPlan, undefined, { every: 100 }));
    expect(msgs.filter((m) => m.type === 'record').map((m) => (m.type === 'record' ? m.data.id : 0))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const end = msgs.at(-1);
    expect(end).toMatchObject({ type: 'state', state: { mode: 'full_refresh', after: [12], done: true } });
    const again = await drain(run(TABLE, fullPlan, end?.type === 'state' ? end.state : undefined));
    expect(again.filter((m) => m.type === 'record').length).toBe(12);
  });

  it('an empty table still ends with a state', async () => {
    expect(await drain(run([], incPlan, undefined))).toEqual([
      { type: 'state', stream: 's', state: { v: 1, mode: 'incremental', cursorField: 'c', primaryKey: ['id'], nullsAfter: null, after: null } },
    ]);
  });

  it('skips the nulls phase when the cursor cannot be NULL', async () => {
    const phases: Phase[] = [];
    const gen = readKeyset({
      plan: { ...incPlan, cursorNullable: false },
      saved: undefined,
      checkpointEvery: 10,
      origin: 't',
      rows: fakeRows(TABLE.filter((r) => r.c !== null), 4, (p) => phases.push(p)),
      signal: new AbortController().signal,
      logger: captureLogger(),
    });
    await drain(gen);
    expect(phases).toEqual(['values']);
  });

  it('an abort stops after the current batch with a state for the last record yielded', async () => {
    const ac = new AbortController();
    const msgs = await drain(run(TABLE, incPlan, undefined, { page: 4, every: 100, signal: ac.signal }), (m) => {
      if (m.type === 'record' && m.data.id === 1) ac.abort();
      return false;
    });
    // Batches are [2, 5, 11] (NULL cursors), [1, 3, 8, 9], [4, 7, 10, 12], [6]. A batch is converted
    // before the consumer sees its first record, so the abort seen at id 1 stops the run after the next one.
    expect(msgs.map((m) => (m.type === 'record' ? m.data.id : 'S'))).toEqual([2, 5, 11, 1, 3, 8, 9, 4, 7, 10, 12, 'S']);
    const last = msgs.at(-1);
    expect(last).toMatchObject({ state: { nullsAfter: [11], after: { cursor: 'b', pk: [12] } } });
    const rest = await drain(run(TABLE, incPlan, last?.type === 'state' ? last.state : undefined));
    expect(rest.filter((m) => m.type === 'record').map((m) => (m.type === 'record' ? m.data.id : 0))).toEqual([6]);
  });
});

describe('timestamps', () => {
  const utc = resolveZone('UTC')!;
  const berlin = resolveZone('Europe/Berlin')!;

  it('resolves offsets, UTC aliases and IANA names; refuses abbreviations JS cannot read', () => {
    expect(resolveZone('+02:00')).toMatchObject({ kind: 'offset', minutes: 120 });
    expect(resolveZone('-0530')).toMatchObject({ kind: 'offset', minutes: -330 });
    expect(resolveZone('Etc/UTC')).toMatchObject({ kind: 'offset', minutes: 0 });
    expect(resolveZone('America/New_York')).toMatchObject({ kind: 'iana' });
    expect(resolveZone('CEST')).toBeUndefined();
    expect(resolveZone('+25:00')).toBeUndefined();
  });

  it('wall clock in UTC keeps every fractional digit', () => {
    expect(wallClockToIso('2024-07-01 12:00:00', utc)).toBe('2024-07-01T12:00:00Z');
    expect(wallClockToIso('2024-07-01 12:00:00.123456', utc)).toBe('2024-07-01T12:00:00.123456Z');
    expect(wallClockToIso('2024-07-01 12:00:00.000000', utc)).toBe('2024-07-01T12:00:00.000000Z');
  });

  it('wall clock at a fixed offset crosses day, month and year boundaries', () => {
    const plus2 = resolveZone('+02:00')!;
    expect(wallClockToIso('2024-01-01 01:30:00.5', plus2)).toBe('2023-12-31T23:30:00.5Z');
    const minus8 = resolveZone('-08:00')!;
    expect(wallClockToIso('2024-02-28 20:00:00', minus8)).toBe('2024-02-29T04:00:00Z');
  });

  it('wall clock in an IANA zone follows daylight saving, earlier instant when a time repeats', () => {
    expect(wallClockToIso('2024-01-15 12:00:00', berlin)).toBe('2024-01-15T11:00:00Z');
    expect(wallClockToIso('2024-07-15 12:00:00', berlin)).toBe('2024-07-15T10:00:00Z');
    // 2024-10-27 02:30 happens twice in Berlin (CEST then CET): the first one.
    expect(wallClockToIso('2024-10-27 02:30:00', berlin)).toBe('2024-10-27T00:30:00Z');
    // 2024-03-31 02:30 never happens in Berlin: read with the offset from before the change.
    expect(wallClockToIso('2024-03-31 02:30:00', berlin)).toBe('2024-03-31T01:30:00Z');
    expect(wallClockToIso('2024-03-31 03:30:00', berlin)).toBe('2024-03-31T01:30:00Z');
  });

  it('zero dates are null; other text is kept as it is', () => {
    expect(wallClockToIso('0000-00-00 00:00:00', utc)).toBeNull();
    expect(wallClockToIso('2024-00-10 00:00:00', utc)).toBeNull();
    expect(wallClockToIso('2024-05-00 10:00:00', utc)).toBeNull();
    expect(wallClockToIso('infinity', utc)).toBe('infinity');
    expect(wallClockToIso('2024-01-01 00:00:00 BC', utc)).toBe('2024-01-01 00:00:00 BC');
  });

  it('early years are not moved to the 1900s', () => {
    expect(wallClockToIso('0099-03-01 00:00:00', utc)).toBe('0099-03-01T00:00:00Z');
    expect(wallClockToIso('0099-03-01 00:00:00', resolveZone('+01:00')!)).toBe('0099-02-28T23:00:00Z');
    expect(wallClockToIso('0999-12-31 23:59:59', resolveZone('-01:00')!)).toBe('1000-01-01T00:59:59Z');
  });

  it('timestamps with an offset become UTC', () => {
    expect(offsetTimestampToIso('2024-01-01 10:00:00.123456+00')).toBe('2024-01-01T10:00:00.123456Z');
    expect(offsetTimestampToIso('2024-01-01 10:00:00+02')).toBe('2024-01-01T08:00:00Z');
    expect(offsetTimestampToIso('2024-01-01 00:15:00.5-05:30')).toBe('2024-01-01T05:45:00.5Z');
    expect(offsetTimestampToIso('1900-01-01 00:00:00+00:09:21')).toBe('1899-12-31T23:50:39Z');
    expect(offsetTimestampToIso('infinity')).toBe('infinity');
    expect(offsetTimestampToIso('0044-03-15 12:00:00+00 BC')).toBe('0044-03-15 12:00:00+00 BC');
  });

  it('the same instant reads the same from any zone', () => {
    const zones: WallClockZone[] = [resolveZone('+05:45')!, resolveZone('Asia/Kathmandu')!];
    for (const z of zones) expect(wallClockToIso('2024-06-01 05:45:00', z)).toBe('2024-06-01T00:00:00Z');
  });
});
