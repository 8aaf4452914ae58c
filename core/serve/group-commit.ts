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
  /**
   * Groups handed to the sink before the previous one is committed (default 1).
   * A sink on another thread commits them in order, so with 2 it always has the
   * next group ready instead of idling for the round trip.
   */
  maxInFlight?: number;
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
 * fails (the handler answers 503 and the client retries). At most
 * `maxInFlight` groups at a time: requests arriving meanwhile form the next group.
 */
export class GroupCommitter implements InboxWriter {
  private waiting: Waiting[] = [];
  private waitingEvents = 0;
  private timer?: NodeJS.Timeout;
  private inFlight = new Set<Promise<void>>();
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
    if (this.inFlight.size >= (this.opts.maxInFlight ?? 1) || !this.waiting.length) return;
    const group = this.waiting;
    this.waiting = [];
    this.waitingEvents = 0;
    const p: Promise<void> = this.write(group).finally(() => {
      this.inFlight.delete(p);
      // Whatever queued up during the commit goes next, without waiting for another timer.
      if (this.waiting.length) this.kick();
    });
    this.inFlight.add(p);
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
    while (this.inFlight.size || this.waiting.length) {
      this.kick();
      await Promise.all([...this.inFlight]);
    }
  }
}
