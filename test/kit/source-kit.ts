import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import type {
  ConfiguredStream,
  RecordMessage,
  SourceConnector,
  SourceMessage,
  StreamState,
} from '../../core/plugin/types.js';
import { readSource } from '../../core/sdk/source-checks.js';
import { expectRefused, testContext } from './context.js';

export interface SourceKitOptions<C, S> {
  connector: SourceConnector<C, S>;
  /** Prepare the source (create tables, write files). Returns the config to use. */
  setup(): Promise<C>;
  teardown?(): Promise<void>;
  /** The stream the kit reads, configured for incremental sync. */
  stream(): ConfiguredStream<S>;
  /** How many records a full read of `stream()` must yield right after `setup`. */
  expectedInitialCount: number;
  /** The primary key of a record, to compare sets. */
  keyOf(data: Record<string, unknown>): string;
  /** Add or update records so that they are newer than everything read so far; returns their keys. */
  addNewer(config: C): Promise<string[]>;
  /** A state that lies after any record the source could hold. */
  farFutureState(): StreamState;
  /** Configs that must be refused, by schema or by `check`, with a message matching `message`. */
  badConfigs: Array<{ name: string; config: unknown; message: RegExp }>;
}

/** Read a source to the end (the same reader `tributary test connector` uses, core/sdk/source-checks.ts). */
export async function collect(
  connector: SourceConnector,
  config: unknown,
  streams: ConfiguredStream[],
  state: Record<string, StreamState | undefined> = {},
): Promise<{ records: RecordMessage[]; states: Map<string, StreamState>; messages: SourceMessage[] }> {
  // The sync is named `test`, as in testContext: connectors' error messages name it.
  return readSource(connector, config, streams, state, { name: 'test' });
}

/**
 * What every source connector must pass. Call it inside a test file:
 * `sourceConnectorKit({ connector: csvSource, setup, ... })`.
 */
export function sourceConnectorKit<C, S>(opts: SourceKitOptions<C, S>): void {
  const { connector } = opts;
  describe(`source connector kit: ${connector.id}`, () => {
    let config: C;
    let savedState: StreamState | undefined;
    let initialKeys: Set<string>;

    beforeAll(async () => {
      config = opts.connector.spec.config.parse(await opts.setup());
    });
    afterAll(async () => {
      await opts.teardown?.();
    });

    it('check reports a reachable source as ok', async () => {
      const res = await connector.check(testContext(config));
      expect(res.message ?? '').toBe('');
      expect(res.ok).toBe(true);
    });

    it('discover lists the configured stream with fields', async () => {
      const streams = await connector.discover(testContext(config));
      const names = streams.map((s) => s.name);
      expect(names).toContain(opts.stream().name);
      const s = streams.find((x) => x.name === opts.stream().name)!;
      expect(Object.keys(s.fields).length).toBeGreaterThan(0);
      expect(s.supportedModes.length).toBeGreaterThan(0);
    });

    it('full read yields every record once and a final state', async () => {
      const { records, states } = await collect(connector, config, [opts.stream()]);
      expect(records.length).toBe(opts.expectedInitialCount);
      initialKeys = new Set(records.map((r) => opts.keyOf(r.data)));
      expect(initialKeys.size).toBe(opts.expectedInitialCount);
      savedState = states.get(opts.stream().name);
      expect(savedState).toBeDefined();
    });

    it('incremental read from saved state returns only newer records', async () => {
      expect(savedState).toBeDefined();
      const added = await opts.addNewer(config);
      const { records } = await collect(connector, config, [opts.stream()], { [opts.stream().name]: savedState });
      const keys = records.map((r) => opts.keyOf(r.data)).sort();
      expect(keys).toEqual([...added].sort());
    });

    it('a state past every record returns nothing', async () => {
      const { records } = await collect(connector, config, [opts.stream()], {
        [opts.stream().name]: opts.farFutureState(),
      });
      expect(records).toEqual([]);
    });

    for (const bad of opts.badConfigs) {
      it(`refuses bad config (${bad.name}) with a clear message`, async () => {
        await expectRefused(connector, bad);
      });
    }
  });
}
