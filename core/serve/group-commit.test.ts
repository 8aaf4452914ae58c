import { describe, expect, it } from 'vitest';
import type { InboxAppendResult, InboxEvent } from './contract.js';
import { GroupCommitter, type GroupSink } from './group-commit.js';

const ev = (id: string): InboxEvent => ({ source: 'web', stream: 'track', dedupKey: id, receivedAt: '2026-12-01T00:00:00.000Z', body: {}, bodyJson: '{}' });
const turn = () => new Promise<void>((r) => setImmediate(r));

/** A sink whose commits finish only when the test says so. */
function manualSink() {
  const calls: { groups: string[][]; finish(): void }[] = [];
  const sink: GroupSink = {
    appendGroups: (groups) =>
      new Promise<InboxAppendResult[]>((resolve) => {
        calls.push({ groups: groups.map((g) => g.map((e) => e.dedupKey!)), finish: () => resolve(groups.map((g) => ({ accepted: g.length, duplicates: 0 }))) });
      }),
  };
  return { sink, calls };
}

describe('group commit: commit when idle, batch while busy', () => {
  it('hands an idle sink the requests of the current loop turn without waiting for flushMs', async () => {
    const { sink, calls } = manualSink();
    // A long flushMs: were the committer waiting on it, nothing would reach the sink within a loop turn.
    const c = new GroupCommitter(sink, { maxEvents: 1000, flushMs: 1000 });
    const a = c.append([ev('a')]);
    const b = c.append([ev('b')]);
    await turn();
    expect(calls.map((x) => x.groups)).toEqual([[['a'], ['b']]]);
    calls[0].finish();
    expect(await Promise.all([a, b])).toEqual([{ accepted: 1, duplicates: 0 }, { accepted: 1, duplicates: 0 }]);
  });

  it('while a commit runs, arriving requests wait and go together the moment it finishes', async () => {
    const { sink, calls } = manualSink();
    const sizes: number[] = [];
    const c = new GroupCommitter(sink, { maxEvents: 1000, flushMs: 1000, onCommit: (n) => sizes.push(n) });
    const first = c.append([ev('a')]);
    await turn();
    const later = [c.append([ev('b')]), c.append([ev('c'), ev('d')])];
    await turn();
    await turn();
    // Busy: nothing more is handed over, and nothing is answered before its commit.
    expect(calls).toHaveLength(1);
    let answered = false;
    void Promise.all(later).then(() => (answered = true));
    calls[0].finish();
    await first;
    await turn();
    expect(calls.map((x) => x.groups)).toEqual([[['a']], [['b'], ['c', 'd']]]);
    expect(answered).toBe(false);
    calls[1].finish();
    await Promise.all(later);
    expect(sizes).toEqual([1, 3]);
    await c.close();
  });

  it('with room for several groups in flight, each loop turn goes out without waiting for the previous commit', async () => {
    const { sink, calls } = manualSink();
    const c = new GroupCommitter(sink, { maxEvents: 1000, maxInFlight: 8 });
    const p1 = c.append([ev('a')]);
    await turn();
    const p2 = c.append([ev('b')]);
    await turn();
    expect(calls.map((x) => x.groups)).toEqual([[['a']], [['b']]]);
    for (const x of calls) x.finish();
    await Promise.all([p1, p2]);
  });
});
