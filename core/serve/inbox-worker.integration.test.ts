import { afterEach, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { InboxEvent } from './contract.js';
import { flatEvents } from '../store/sqlite-inbox.js';

// The writer thread as the built server runs it (vitest's global setup builds dist/).
const WORKER = join(process.cwd(), 'dist', 'core', 'serve', 'inbox-worker.js');
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const ev = (id: string): InboxEvent => ({ source: 'web', stream: 'track', dedupKey: id, receivedAt: '2026-12-01T00:00:00.000Z', body: {}, bodyJson: JSON.stringify({ messageId: id }) });

interface Reply {
  events: number;
  done: { id: number; results?: { accepted: number; duplicates: number }[]; error?: string }[];
}

describe('inbox writer thread', () => {
  it('merges the messages queued while it was busy into one transaction, answering each message its own results', async () => {
    const dir = mkdtempSync(join(tmpdir(), `trib-inbox-worker-${process.pid}-`));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'store.db');
    const worker = new Worker(WORKER, { workerData: { file, opts: {} } });
    cleanup.push(() => worker.terminate());
    const replies: Reply[] = [];
    const got = new Promise<void>((resolve) =>
      worker.on('message', (m: Reply) => {
        replies.push(m);
        if (replies.flatMap((r) => r.done).length === 3) resolve();
      }),
    );
    // Posted before the thread has even opened the store: all three wait in its queue.
    worker.postMessage({ id: 1, groups: [[ev('a'), ev('b')]].map(flatEvents) });
    worker.postMessage({ id: 2, groups: [[ev('c')], [ev('a')]].map(flatEvents) });
    worker.postMessage({ id: 3, groups: [[ev('d')]].map(flatEvents) });
    await got;
    expect(replies).toHaveLength(1);
    expect(replies[0].events).toBe(5);
    expect(replies[0].done).toEqual([
      { id: 1, results: [{ accepted: 2, duplicates: 0 }] },
      // The repeated key of another message in the same transaction is still a duplicate.
      { id: 2, results: [{ accepted: 1, duplicates: 0 }, { accepted: 0, duplicates: 1 }] },
      { id: 3, results: [{ accepted: 1, duplicates: 0 }] },
    ]);
    const db = new Database(file, { readonly: true });
    cleanup.push(() => db.close());
    expect(db.prepare('SELECT dedup_key FROM inbox ORDER BY seq').pluck().all()).toEqual(['a', 'b', 'c', 'd']);
  });
});
