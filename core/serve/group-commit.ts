import type { InboxAppendResult, InboxEvent, InboxWriter } from './contract.js';

/** What the batcher writes: many requests' events in one transaction, one result per request. */
export interface GroupSink {
  appendGroups(groups: InboxEvent[][]): Promise<InboxAppendResult[]>;
}

export interface GroupCommitOptions {
  /** Flush once this many events are waiting. */
  maxEvents: number;
  /**
   * Kept for the config's sake: the committer no longer waits on a timer. A
   * group goes to the sink at the end of the event-loop turn in which the sink
   * has room ("commit when idle, batch while busy"); while a commit runs,
   * arriving requests form the next group, flushed as soon as it finishes.
   */
  flushMs?: number;
  /**
   * Groups handed to the sink before the previous one is committed (default 1).
   * A sink on another thread that merges the groups queued to it into one
   * transaction (threaded-inbox.ts) takes many: each loop turn's requests go
   * out at once, and the writer commits whatever has arrived when it is free.
   */
  maxInFlight?: number;
  /** Called with the number of events of each group committed (the group size metric). */
  onCommit?: (events: number) => void;
}

interface Waiting {
  events: InboxEvent[];
  resolve(r: InboxAppendResult): void;
  reject(e: unknown): void;
}

/**
 * Group commit: requests wait together for one transaction (and one fsync).
 * Every waiting request is resolved only after COMMIT, or rejected if the
 * commit fails (the handler answers 503 and the client retries). At most
 * `maxInFlight` groups at a time: requests arriving meanwhile form the next group.
 * No timer: an idle sink gets the requests of the current loop turn (setImmediate),
 * so a lone request is never held back, and under load groups form by themselves.
 */
export class GroupCommitter implements InboxWriter {
  private waiting: Waiting[] = [];
  private waitingEvents = 0;
  private scheduled = false;
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
      else this.schedule();
    });
  }

  /** Events waiting for a commit (not yet durable). */
  get pending(): number {
    return this.waitingEvents;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight.size >= (this.opts.maxInFlight ?? 1)) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.kick();
    });
  }

  private kick(): void {
    if (this.inFlight.size >= (this.opts.maxInFlight ?? 1) || !this.waiting.length) return;
    const group = this.waiting;
    this.waiting = [];
    this.waitingEvents = 0;
    const p: Promise<void> = this.write(group).finally(() => {
      this.inFlight.delete(p);
      // Whatever queued up during the commit goes next, without waiting for a timer.
      if (this.waiting.length) this.kick();
    });
    this.inFlight.add(p);
  }

  private async write(group: Waiting[]): Promise<void> {
    try {
      const results = await this.sink.appendGroups(group.map((w) => w.events));
      this.stats.flushes++;
      let n = 0;
      group.forEach((w, i) => {
        n += w.events.length;
        this.stats.events += results[i].accepted;
        w.resolve(results[i]);
      });
      this.opts.onCommit?.(n);
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
