import type { InboxAppendResult, InboxEvent, InboxReader, InboxRow, InboxWriter } from '../../../core/serve/contract.js';

/**
 * An inbox that really stores, in memory, with the contract's rules: seq
 * increases per inbox, (source, dedupKey) is stored once, and an append is
 * all or nothing (set `failNextAppend` to see a request refused with nothing
 * kept). Reads return copies, so a test cannot change what is stored.
 */
export class MemoryInbox implements InboxWriter, InboxReader {
  readonly rows: InboxRow[] = [];
  private readonly keys = new Set<string>();
  private seq = 0;
  appendCalls = 0;
  failNextAppend = false;

  async append(events: InboxEvent[]): Promise<InboxAppendResult> {
    this.appendCalls++;
    if (this.failNextAppend) {
      this.failNextAppend = false;
      throw new Error('inbox unavailable');
    }
    const staged: InboxRow[] = [];
    const stagedKeys = new Set<string>();
    let duplicates = 0;
    for (const e of events) {
      const key = e.dedupKey === undefined ? undefined : JSON.stringify([e.source, e.dedupKey]);
      if (key !== undefined && (this.keys.has(key) || stagedKeys.has(key))) {
        duplicates++;
        continue;
      }
      if (key !== undefined) stagedKeys.add(key);
      staged.push({ ...structuredClone(e), seq: this.seq + staged.length + 1 });
    }
    // Commit point: nothing above touched the stored state.
    this.seq += staged.length;
    this.rows.push(...staged);
    for (const k of stagedKeys) this.keys.add(k);
    return { accepted: staged.length, duplicates };
  }

  async read(source: string, opts: { afterSeq: number; limit: number; stream?: string }): Promise<InboxRow[]> {
    const out: InboxRow[] = [];
    for (const r of this.rows) {
      if (out.length >= opts.limit) break;
      if (r.seq > opts.afterSeq && r.source === source && (opts.stream === undefined || r.stream === opts.stream)) out.push(structuredClone(r));
    }
    return out;
  }
}
