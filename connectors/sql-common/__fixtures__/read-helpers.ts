import { expect } from 'vitest';
import type { ConfiguredStream, RecordMessage, SourceConnector, SourceMessage, StreamState } from '../../../core/plugin/types.js';
import { testContext } from '../../../test/kit/context.js';

/** Read until `stop` says so, then leave the iterator (as a crashing or aborted run would). */
export async function readUntil<C, S>(
  connector: SourceConnector<C, S>,
  config: C,
  streams: ConfiguredStream<S>[],
  state: Record<string, StreamState | undefined>,
  stop: (m: SourceMessage, states: number) => boolean,
): Promise<SourceMessage[]> {
  const messages: SourceMessage[] = [];
  let states = 0;
  for await (const m of connector.read(testContext(config), streams, state)) {
    messages.push(m);
    if (m.type === 'state') states++;
    if (stop(m, states)) break;
  }
  return messages;
}

/** Records up to (and including) the last state message: what an engine would have committed. */
export function committed(messages: SourceMessage[]): { records: RecordMessage[]; state: StreamState | undefined } {
  let lastState = -1;
  messages.forEach((m, i) => {
    if (m.type === 'state') lastState = i;
  });
  const records = messages.slice(0, lastState + 1).filter((m): m is RecordMessage => m.type === 'record');
  const last = lastState >= 0 ? messages[lastState] : undefined;
  return { records, state: last?.type === 'state' ? last.state : undefined };
}

export const ids = (records: RecordMessage[]): string[] => records.map((r) => String(r.data.id));

/** Every expected key, each exactly once. */
export function expectExactlyOnce(got: string[], expected: number): void {
  expect(got.length).toBe(expected);
  expect(new Set(got).size).toBe(expected);
}
