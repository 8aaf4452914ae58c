import { PerformanceObserver, constants, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { splitThreadCpu, threadCpu } from './thread-cpu.js';

/**
 * Where a pipeline run's time went by thread: how busy the main thread was (reading,
 * mapping, resolving, encoding), how much of that was garbage-collection pauses, and how
 * busy the store's commit thread was. The process CPU figure adds both threads (and V8's
 * helper threads); the wall-clock rate follows the busier of the two, so each change is
 * judged on the thread it moves time off.
 */
export class ThreadStats {
  private readonly elu0 = performance.eventLoopUtilization();
  private lapMain = this.elu0;
  private lapCommit?: EventLoopUtilization;
  private readonly laps: string[] = [];
  private readonly cpu0 = threadCpu();
  private lapCpu = this.cpu0;
  private readonly gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        this.gc.minor++;
        this.gc.minorMs += e.duration;
      } else {
        this.gc.major++;
        this.gc.majorMs += e.duration;
      }
    }
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /**
   * After each sync: how busy each thread was during it, per record. A source whose batches are heavy on
   * one thread leaves the other waiting, whatever the totals say.
   */
  lap(label: string, records: number, commitThread: EventLoopUtilization | undefined): void {
    const main = performance.eventLoopUtilization(this.lapMain);
    this.lapMain = performance.eventLoopUtilization();
    const per = (ms: number) => ((ms * 1000) / Math.max(1, records)).toFixed(1);
    let line = `  ${label}: main thread busy ${per(main.active)} µs/record (${(main.utilization * 100).toFixed(0)}%)`;
    if (commitThread) {
      const commit = this.lapCommit ? performance.eventLoopUtilization(commitThread, this.lapCommit) : commitThread;
      this.lapCommit = commitThread;
      line += `, commit thread ${per(commit.active)} µs/record (${(commit.utilization * 100).toFixed(0)}%)`;
    }
    const cpu = threadCpu();
    line += `; CPU ${cpuLine(splitThreadCpu(this.lapCpu, cpu), records)}`;
    this.lapCpu = cpu;
    this.laps.push(line);
  }

  /** Lines for the report; `commitThread` is the thread's own utilization since it started (it starts with the first batch). */
  report(records: number, commitThread: EventLoopUtilization | undefined): string {
    this.observer.disconnect();
    const main = performance.eventLoopUtilization(this.elu0);
    const per = (ms: number) => ((ms * 1000) / records).toFixed(1);
    const pct = (u: number) => `${(u * 100).toFixed(0)}%`;
    const g = this.gc;
    const lines = [
      `main thread: busy ${per(main.active)} µs/record (${pct(main.utilization)} of the run), of which GC pauses ${per(g.minorMs + g.majorMs)} ` +
        `(${g.minor} scavenges ${per(g.minorMs)}, ${g.major} full ${per(g.majorMs)}); young generation: ${youngGeneration()}`,
    ];
    if (commitThread) lines.push(`commit thread: busy ${per(commitThread.active)} µs/record (${pct(commitThread.utilization)} of its life)`);
    lines.push(`CPU by thread (busy above is wall time, which a loaded machine inflates): ${cpuLine(splitThreadCpu(this.cpu0, threadCpu()), records)}`);
    lines.push(...this.laps);
    return `${lines.join('\n')}\n`;
  }
}

function cpuLine(c: { main: number; commit: number; helpers: number }, records: number): string {
  const per = (us: number) => (us / Math.max(1, records)).toFixed(1);
  return `main ${per(c.main)}, commit ${per(c.commit)}, V8 helpers ${per(c.helpers)} µs/record`;
}

/** The young-generation size this process was started with: V8 fixes it at start, so only the flag says. */
export function youngGeneration(argv: readonly string[] = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]): string {
  const flag = [...argv].reverse().find((a) => /^--max-semi-space-size[=_]/.test(a) || a.startsWith('--max_semi_space_size='));
  return flag ? `${flag.split('=')[1]} MB semi-spaces (${flag})` : "Node's default (16 MB semi-spaces; --max-semi-space-size=N to change)";
}
