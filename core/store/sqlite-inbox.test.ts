import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteInboxWriter } from './sqlite-inbox.js';
import { SqliteStore } from './sqlite-store.js';
import { GroupCommitter } from '../serve/group-commit.js';
import type { InboxEvent } from '../serve/contract.js';

const cleanup: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function open() {
  const dir = mkdtempSync(join(tmpdir(), `trib-inbox-${process.pid}-`));
  const file = join(dir, 'store.db');
  const store = new SqliteStore(file);
  const writer = new SqliteInboxWriter(file);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }), () => store.close(), () => writer.close());
  return { file, store, writer };
}

const ev = (id: string, stream = 'track', source = 'web'): InboxEvent => ({ source, stream, dedupKey: id, receivedAt: new Date().toISOString(), body: { messageId: id } });

describe('inbox', () => {
  it('stores a (source, dedupKey) once, also after the first copy was drained', async () => {
    const { store, writer } = open();
    expect(await writer.appendGroups([[ev('a'), ev('b'), ev('a')]])).toEqual([{ accepted: 2, duplicates: 1 }]);
    // The same key from another source is another message.
    expect(await writer.appendGroups([[ev('a', 'track', 'app')]])).toEqual([{ accepted: 1, duplicates: 0 }]);
    const rows = await store.inbox.read('web', { afterSeq: 0, limit: 10 });
    expect(rows.map((r) => r.dedupKey)).toEqual(['a', 'b']);
    await store.inbox.release('web', 'track', rows[1].seq);
    expect(await store.inbox.read('web', { afterSeq: 0, limit: 10 })).toEqual([]);
    expect(await writer.appendGroups([[ev('b')]])).toEqual([{ accepted: 0, duplicates: 1 }]);
    expect(writer.backlog()).toBe(1);
  });

  it('never hands out a seq again after the rows holding the highest ones were deleted', async () => {
    const { store, writer } = open();
    await writer.appendGroups([[ev('a'), ev('b')]]);
    const [, b] = await store.inbox.read('web', { afterSeq: 0, limit: 10 });
    await store.inbox.release('web', 'track', b.seq);
    await writer.appendGroups([[ev('c')]]);
    const [c] = await store.inbox.read('web', { afterSeq: b.seq, limit: 10 });
    expect(c.dedupKey).toBe('c');
    expect(c.seq).toBeGreaterThan(b.seq);
  });

  it('group commit: many requests share one transaction, each resolved after it', async () => {
    const { store, writer } = open();
    const committer = new GroupCommitter(writer, { maxEvents: 1000, flushMs: 20 });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => committer.append([ev(`m${i}`), ev(`m${i}`)])));
    expect(results.every((r) => r.accepted === 1 && r.duplicates === 1)).toBe(true);
    expect(committer.stats.flushes).toBe(1);
    expect((await store.inbox.read('web', { afterSeq: 0, limit: 100 })).length).toBe(50);
    await committer.close();
  });

  it('a failed commit rejects every waiting request and leaves no row and no de-duplication key', async () => {
    const { store, writer } = open();
    let fail = true;
    const committer = new GroupCommitter(
      { appendGroups: (g) => (fail ? writer.appendGroups([...g, [{ ...ev('bad'), body: undefined as never }]]) : writer.appendGroups(g)) },
      { maxEvents: 1000, flushMs: 1 },
    );
    await expect(Promise.all([committer.append([ev('x')]), committer.append([ev('y')])])).rejects.toThrow();
    expect(await store.inbox.read('web', { afterSeq: 0, limit: 10 })).toEqual([]);
    fail = false;
    // The client's retry is stored: its key was rolled back with the failed transaction.
    expect(await committer.append([ev('x')])).toEqual({ accepted: 1, duplicates: 0 });
    await committer.close();
  });

  it('serve appends while a sync holds the store write transaction: it waits without blocking the event loop, then commits', async () => {
    const { store, writer } = open();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    let appended = false;
    await store.exclusive(async () => {
      const p = writer.appendGroups([[ev('during')]]).then((r) => {
        appended = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 100));
      // Still waiting for the sync's transaction: the event loop ran meanwhile (the ticker counted).
      expect(appended).toBe(false);
      expect(ticks).toBeGreaterThan(5);
      void p;
    });
    await new Promise((r) => setTimeout(r, 100));
    clearInterval(ticker);
    expect(appended).toBe(true);
    expect((await store.inbox.read('web', { afterSeq: 0, limit: 10 })).map((r) => r.dedupKey)).toEqual(['during']);
  });
});
