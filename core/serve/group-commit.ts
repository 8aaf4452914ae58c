import type { InboxAppendResult, InboxEvent, InboxWriter } from './contract.js';

/** What the batcher writes: many requests' events in one transaction, one result per request. */
export interface GroupSink {
  appendGroups(groups: InboxEvent[][]): Promise<InboxAppendResult[]>;
}

export interface GroupCommitOptions {
  /** Flush once this many events are waiting. */
  maxEvents: number;
  /** ... or once the oldest waiting request has waited this long. */
  flushMs: number;
}

interface Waiting {
  events: InboxEvent[];
  resolve(r: InboxAppendResult): void;
  reject(e: unknown): void;
}

/**
 * Group commit: requests wait together for one transaction (and one fsync),
 * flushed at `maxEvents` events or `flushMs`, whichever comes first. Every
 * waiting request is resolved only after COMMIT, or rejected if the commit
 * fails (the handler answers 503 and the client retries). One flush at a time:
 * requests arriving during a commit form the next group.
 */
export class GroupCommitter implements InboxWriter {
  private waiting: Waiting[] = [];
  private waitingEvents = 0;
  private timer?: NodeJS.Timeout;
  private writing?: Promise<void>;
  private closed = false;
  /** Flushes done and events written, for tests and the benchmark. */
  readonly stats = { flushes: 0, events: 0 };

  constructor(
    private readonly sink: GroupSink,
    private readonly opts: GroupCommitOptions,
  ) {}

  append(events: InboxEvent[]): Promise<InboxAppendResult> {
    if (this.closed) return Promise.reject(new Error('the inbox is closing'));
    if (!events.length) return Promise.resolve({ accepted: 0, duplicates: 0 });
    return new Promise((resolve, reject) => {
      this.waiting.push({ events, resolve, reject });
      this.waitingEvents += events.length;
      if (this.waitingEvents >= this.opts.maxEvents) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.opts.flushMs);
    });
  }

  /** Events waiting for a commit (not yet durable). */
  get pending(): number {
    return this.waitingEvents;
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || !this.waiting.length) return;
    const group = this.waiting;
    this.waiting = [];
    this.waitingEvents = 0;
    this.writing = this.write(group).finally(() => {
      this.writing = undefined;
      // Whatever queued up during the commit goes next, without waiting for another timer.
      if (this.waiting.length) this.kick();
    });
  }

  private async write(group: Waiting[]): Promise<void> {
    try {
      const results = await this.sink.appendGroups(group.map((w) => w.events));
      this.stats.flushes++;
      group.forEach((w, i) => {
        this.stats.events += results[i].accepted;
        w.resolve(results[i]);
      });
    } catch (err) {
      for (const w of group) w.reject(err);
    }
  }

  /** Flush what is waiting and stop taking events (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.writing || this.waiting.length) {
      if (!this.writing) this.kick();
      await this.writing;
    }
  }
}
