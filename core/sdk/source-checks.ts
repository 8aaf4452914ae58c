import type { ConfiguredStream, RecordMessage, SourceConnector, SourceMessage, StreamState } from '../plugin/types.js';
import { CheckFailure, NotExercised, assertThat, fail, show, type NamedCheck } from './check-run.js';
import { kitContext, refusalProblem } from './context.js';
import type { SourceFixture } from './fixture.js';

const KEBAB_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export interface ReadResult {
  /** Every message in order. */
  messages: SourceMessage[];
  records: RecordMessage[];
  /** The last state per stream. */
  states: Map<string, StreamState>;
}

/**
 * Read a source to the end (or until `stopAfterRecords` records, then stop as
 * an interrupted run does: abort the signal and close the iterator).
 */
export async function readSource(
  connector: SourceConnector,
  config: unknown,
  streams: ConfiguredStream[],
  state: Record<string, StreamState | undefined> = {},
  opts: { signal?: AbortSignal; baseDir?: string; stopAfterRecords?: number; name?: string } = {},
): Promise<ReadResult> {
  const ac = new AbortController();
  const onOuter = () => ac.abort();
  opts.signal?.addEventListener('abort', onOuter, { once: true });
  const messages: SourceMessage[] = [];
  const records: RecordMessage[] = [];
  const states = new Map<string, StreamState>();
  try {
    for await (const m of connector.read(kitContext(config, { signal: ac.signal, baseDir: opts.baseDir, name: opts.name }), streams, state)) {
      if (opts.signal?.aborted) throw new CheckFailure('read kept going after the check was aborted');
      messages.push(m);
      if (m.type === 'record') records.push(m);
      else if (m.type === 'state') states.set(m.stream, structuredClone(m.state));
      if (opts.stopAfterRecords !== undefined && records.length >= opts.stopAfterRecords) {
        ac.abort();
        break;
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', onOuter);
  }
  return { messages, records, states };
}

/** The checks every source must pass, against the fixture's data. */
export function sourceChecks(connector: SourceConnector, fx: SourceFixture, baseDir: string): NamedCheck[] {
  const stream: ConfiguredStream = { ...fx.stream, config: fx.stream.config ?? {} } as ConfiguredStream;
  let config: unknown;
  let keyFields = fx.primaryKey ?? fx.stream.primaryKey;
  let full: ReadResult | undefined;

  const parsedConfig = (): unknown => {
    if (config !== undefined) return config;
    const r = connector.spec.config.safeParse(fx.config);
    if (!r.success) fail(`the fixture's config is refused by the connector's schema: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    config = r.data;
    return config;
  };
  const keyOf = (data: Record<string, unknown>): string => {
    if (!keyFields?.length) fail('no primary key: set `primaryKey:` in the fixture or return one from discover');
    return keyFields.map((k) => String(data[k])).join('|');
  };
  const fullRead = async (signal: AbortSignal): Promise<ReadResult> => {
    if (!full) full = await readSource(connector, parsedConfig(), [stream], {}, { signal, baseDir });
    return full;
  };
  const read = (state: StreamState | undefined, signal: AbortSignal, cfg = parsedConfig()) =>
    readSource(connector, cfg, [stream], { [stream.name]: state }, { signal, baseDir });

  /** After resuming from the state at message `at`, is every record read exactly once? */
  const resumeProblem = async (prefix: RecordMessage[], state: StreamState, signal: AbortSignal, all: string[]): Promise<string | undefined> => {
    const resumed = await read(state, signal);
    const before = prefix.map((r) => keyOf(r.data));
    const after = resumed.records.map((r) => keyOf(r.data));
    const seen = new Set(before);
    const dup = after.filter((k) => seen.has(k));
    const got = new Set([...before, ...after]);
    const lost = all.filter((k) => !got.has(k));
    if (lost.length) return `resuming from ${show(state)} lost ${lost.length} record(s): ${show(lost.slice(0, 5))}`;
    if (dup.length) return `resuming from ${show(state)} read ${dup.length} record(s) again: ${show(dup.slice(0, 5))}`;
    return undefined;
  };

  return [
    {
      check: 'spec',
      async run() {
        assertThat(KEBAB_ID.test(connector.id), `id "${connector.id}" is not kebab-case (lower-case letters, digits, single dashes)`);
        assertThat(typeof connector.spec.config?.safeParse === 'function', 'spec.config is not a zod schema');
        parsedConfig();
      },
    },
    {
      check: 'check (good config)',
      async run(signal) {
        const res = await connector.check(kitContext(parsedConfig(), { signal, baseDir }), [stream]);
        assertThat(res.ok, `check reported the fixture's source as not ok: ${res.message ?? '(no message)'}`);
      },
    },
    {
      check: 'check (bad config)',
      async run(signal) {
        if (!fx.badConfigs.length) throw new NotExercised('the fixture lists no badConfigs');
        for (const bad of fx.badConfigs) {
          const problem = await refusalProblem(connector, { config: bad.config, message: new RegExp(bad.message) }, { signal, baseDir });
          if (problem) fail(`bad config "${bad.name}": ${problem}`);
        }
      },
    },
    {
      check: 'discover',
      async run(signal) {
        const found = await connector.discover(kitContext(parsedConfig(), { signal, baseDir }), [stream]);
        assertThat(Array.isArray(found), 'discover did not return a list of streams');
        const s = found.find((x) => x.name === stream.name);
        if (!s) fail(`discover does not list stream "${stream.name}" (it lists: ${show(found.map((x) => x.name))})`);
        assertThat(Object.keys(s.fields ?? {}).length > 0, `stream "${s.name}" has no fields`);
        assertThat(s.supportedModes?.length > 0, `stream "${s.name}" supports no sync mode`);
        const unknown = (s.cursorCandidates ?? []).filter((c) => !(c in s.fields));
        assertThat(!unknown.length, `cursor candidates ${show(unknown)} are not fields of "${s.name}"`);
        if (!keyFields?.length && s.primaryKey?.length) keyFields = s.primaryKey;
      },
    },
    {
      check: 'full read',
      async run(signal) {
        const r = await fullRead(signal);
        assertThat(r.records.length === fx.expectedCount, `a full read yielded ${r.records.length} records, the fixture expects ${fx.expectedCount}`);
        const keys = new Set(r.records.map((m) => keyOf(m.data)));
        assertThat(keys.size === r.records.length, `a full read yielded ${r.records.length - keys.size} duplicate key(s)`);
        const wrong = r.records.find((m) => m.stream !== stream.name);
        assertThat(!wrong, `a record names stream "${wrong?.stream}", not the configured "${stream.name}"`);
        assertThat(r.states.has(stream.name), 'a full read ended without a state message: the next run would read everything again');
      },
    },
    {
      check: 'incremental from saved state',
      async run(signal) {
        const r = await fullRead(signal);
        const saved = r.states.get(stream.name);
        if (!saved) fail('no saved state: the full read emitted none');
        const cfg = fx.incremental ? connector.spec.config.parse(fx.incremental.config) : parsedConfig();
        const next = await read(saved, signal, cfg);
        const keys = next.records.map((m) => keyOf(m.data)).sort();
        const want = [...(fx.incremental?.newKeys ?? [])].sort();
        assertThat(show(keys) === show(want), `reading from the saved state ${show(saved)} yielded ${show(keys)}, expected ${show(want)}`);
      },
    },
    {
      check: 'far-future state',
      async run(signal) {
        const r = await read(fx.farFutureState as StreamState, signal);
        assertThat(r.records.length === 0, `reading from ${show(fx.farFutureState)} yielded ${r.records.length} record(s), expected none`);
      },
    },
    {
      check: 'cursor ties at a checkpoint',
      async run(signal) {
        const r = await fullRead(signal);
        const cursor = stream.cursorField;
        if (!cursor) throw new NotExercised('the fixture stream has no cursorField');
        const all = r.records.map((m) => keyOf(m.data));
        let prefix: RecordMessage[] = [];
        let exercised = 0;
        for (let i = 0; i < r.messages.length; i++) {
          const m = r.messages[i];
          if (m.type === 'record') prefix = [...prefix, m];
          if (m.type !== 'state' || m.stream !== stream.name) continue;
          const last = prefix[prefix.length - 1];
          const nextRec = r.messages.slice(i + 1).find((x): x is RecordMessage => x.type === 'record');
          if (!last || !nextRec || String(last.data[cursor]) !== String(nextRec.data[cursor])) continue;
          exercised++;
          const problem = await resumeProblem(prefix, m.state, signal, all);
          if (problem) fail(`checkpoint inside a run of equal ${cursor} (${show(last.data[cursor])}): ${problem}`);
        }
        if (!exercised) throw new NotExercised(`no checkpoint falls between two records with the same ${cursor}; give the fixture ties across a checkpoint`);
      },
    },
    {
      check: 'interruption and resume',
      async run(signal) {
        const r = await fullRead(signal);
        const all = r.records.map((m) => keyOf(m.data));
        if (all.length < 2) throw new NotExercised('the fixture needs at least 2 records');
        // Stop one record past the checkpoint nearest the middle: that record is read but not committed, as when a process dies.
        let seen = 0;
        const cuts: number[] = [];
        for (const m of r.messages) {
          if (m.type === 'record') seen++;
          else if (m.type === 'state' && m.stream === stream.name && seen > 0 && seen < all.length) cuts.push(seen);
        }
        if (!cuts.length) throw new NotExercised('the full read has no checkpoint between records: give the fixture more records than checkpointEvery');
        const mid = cuts.reduce((best, c) => (Math.abs(c - all.length / 2) < Math.abs(best - all.length / 2) ? c : best));
        const stopAt = mid + 1;
        const cut = await readSource(connector, parsedConfig(), [stream], {}, { signal, baseDir, stopAfterRecords: stopAt });
        // What a run commits: the records before the last state message; later ones are lost with the process.
        let committed: RecordMessage[] = [];
        let pending: RecordMessage[] = [];
        let state: StreamState | undefined;
        for (const m of cut.messages) {
          if (m.type === 'record') pending.push(m);
          if (m.type === 'state' && m.stream === stream.name) {
            committed = [...committed, ...pending];
            pending = [];
            state = m.state;
          }
        }
        if (!state) throw new NotExercised(`no state message within the first ${stopAt} records: the connector checkpoints less often than the fixture holds records`);
        const problem = await resumeProblem(committed, state, signal, all);
        if (problem) fail(`stopped after ${stopAt} of ${all.length} records; ${problem}`);
      },
    },
  ];
}
