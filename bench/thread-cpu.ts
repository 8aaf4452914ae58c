import { readFileSync, readdirSync } from 'node:fs';

/** /proc counts thread CPU in USER_HZ ticks, which Linux fixes at 100 per second for user space. */
const TICK_US = 10_000;

/**
 * CPU time per thread of this process (Linux /proc; empty elsewhere), in µs. The busy figures of
 * thread-stats.ts are wall time: on a loaded machine a thread waiting for a core counts as busy,
 * while CPU time does not, so these are the figures to compare between runs on a shared machine.
 */
export function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // The thread's name sits in parentheses and may hold spaces: the fields are counted after it.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(f[11]) + Number(f[12])) * TICK_US);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

export interface ThreadCpuSplit {
  /** The main thread (its id is the process id). */
  main: number;
  /** The busiest other thread: the store's commit thread, whose CPU is far above any of V8's helpers. */
  commit: number;
  /** Every other thread together (V8's garbage-collection and compiler helpers, libuv). */
  helpers: number;
}

/** CPU µs each kind of thread used between two `threadCpu()` readings. */
export function splitThreadCpu(before: Map<number, number>, after: Map<number, number>): ThreadCpuSplit {
  let main = 0;
  const others: number[] = [];
  for (const [tid, us] of after) {
    const d = us - (before.get(tid) ?? 0);
    if (tid === process.pid) main = d;
    else others.push(d);
  }
  others.sort((a, b) => b - a);
  const commit = others[0] ?? 0;
  return { main, commit, helpers: others.slice(1).reduce((a, b) => a + b, 0) };
}
