import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SqliteInboxWriter, flatEvents, type InboxWriteOptions } from '../store/sqlite-inbox.js';
import type { InboxAppendResult, InboxEvent } from './contract.js';
import type { InboxBackend } from './server.js';

/**
 * The inbox as the server uses it: appends committed on a worker thread (the
 * fsync does not stop request parsing), probes (backlog, lag, ping) on a
 * connection of this thread. Where the compiled worker is not there (tests run
 * the TypeScript sources), appends run on this thread instead: same writer,
 * same transactions.
 */
export function openInbox(file: string, opts: InboxWriteOptions = {}): InboxBackend {
  const workerFile = fileURLToPath(new URL('./inbox-worker.js', import.meta.url));
  const local = new SqliteInboxWriter(file, opts);
  if (!import.meta.url.endsWith('.js') || !existsSync(workerFile)) return local;
  return new ThreadedInbox(new Worker(workerFile, { workerData: { file, opts } }), local);
}

class ThreadedInbox implements InboxBackend {
  private next = 0;
  private readonly pending = new Map<number, { resolve(r: InboxAppendResult[]): void; reject(e: Error): void }>();
  private failed?: Error;
  readonly threaded = true;
  /** Called with the events of each transaction the writer thread committed (it merges queued groups). */
  onCommit?: (events: number) => void;

  constructor(
    private readonly worker: Worker,
    private readonly probe: SqliteInboxWriter,
  ) {
    worker.on('message', (m: { events: number; done: { id: number; results?: InboxAppendResult[]; error?: string }[] }) => {
      if (m.events) this.onCommit?.(m.events);
      for (const d of m.done) {
        const p = this.pending.get(d.id);
        if (!p) continue;
        this.pending.delete(d.id);
        if (d.error !== undefined) p.reject(new Error(d.error));
        else p.resolve(d.results!);
      }
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the inbox writer thread exited (${code})`)));
  }

  appendGroups(groups: InboxEvent[][]): Promise<InboxAppendResult[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Only strings cross the thread, one flat array per group: cloning the parsed body doubled
      // the cost, and an array of strings clones faster than as many small objects.
      this.worker.postMessage({ id, groups: groups.map(flatEvents) });
    });
  }

  backlog(): number {
    return this.probe.backlog();
  }

  drainLagSeconds(): number {
    return this.probe.drainLagSeconds();
  }

  ping(): boolean {
    return !this.failed && this.probe.ping();
  }

  close(): void {
    this.probe.close();
    if (!this.failed) {
      this.worker.postMessage({ id: -1, close: true });
      // The worker closes its connection, then its port; the thread then ends by itself.
    }
  }
}
