import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfiguredStream, DestinationContext, Metrics, SourceConnector, SourceMessage, StreamState } from '../../../core/plugin/types.js';

import { unlimitedGate } from '../../../core/delivery/rate-limit.js';

/** Test support for the file connectors (no test-framework imports, so it type-checks anywhere). */

export const FIXTURES = dirname(fileURLToPath(import.meta.url));

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

export async function tempDir(prefix = 'tributary-file-'): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function context<C>(config: C, warnings: string[] = [], metrics: Metrics = { count: () => undefined }): DestinationContext<C> {
  const noop = () => undefined;
  return {
    name: 'test-sync',
    config,
    logger: { debug: noop, info: noop, warn: (m) => warnings.push(m), error: noop },
    metrics,
    signal: new AbortController().signal,
    rate: unlimitedGate,
  };
}

export interface Collected {
  messages: SourceMessage[];
  records: Array<{ data: Record<string, unknown>; origin?: string }>;
  errors: Array<{ reason: string; origin?: string; raw?: string }>;
  states: StreamState[];
  /** The last state message seen (what the engine would have committed). */
  last?: StreamState;
}

/**
 * Read a source like the engine does. `stopAfterStates` stops the run right
 * after that many state messages, as a kill would after a commit.
 */
export async function readAll<C, S>(
  source: SourceConnector<C, S>,
  config: C,
  streams: ConfiguredStream<S>[],
  state: Record<string, StreamState | undefined> = {},
  opts: { stopAfterStates?: number; warnings?: string[]; metrics?: Metrics } = {},
): Promise<Collected> {
  const out: Collected = { messages: [], records: [], errors: [], states: [] };
  for await (const m of source.read(context(config, opts.warnings, opts.metrics), streams, state)) {
    out.messages.push(m);
    if (m.type === 'record') out.records.push({ data: m.data, origin: m.origin });
    else if (m.type === 'error') out.errors.push({ reason: m.reason, origin: m.origin, raw: m.raw });
    else {
      out.states.push(m.state);
      out.last = m.state;
      if (opts.stopAfterStates !== undefined && out.states.length >= opts.stopAfterStates) break;
    }
  }
  return out;
}

/** A stream as the engine hands it over, defaults filled by the connector's own schema. */
export function stream<S>(
  source: SourceConnector<unknown, S>,
  name: string,
  config: Record<string, unknown>,
  extra: Partial<Omit<ConfiguredStream<S>, 'name' | 'config'>> = {},
): ConfiguredStream<S> {
  const schema = source.spec.stream;
  if (!schema) throw new Error(`${source.id} declares no stream schema`);
  return { name, mode: 'incremental', primaryKey: ['id'], ...extra, config: schema.parse(config) };
}
