import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { fmt } from './measure.js';

/** Fields of /proc/self/status worth splitting RSS by (Linux only; absent elsewhere). */
const STATUS_FIELDS = ['VmRSS', 'RssAnon', 'RssFile', 'RssShmem'] as const;
type StatusField = (typeof STATUS_FIELDS)[number];

function procStatusMb(): Partial<Record<StatusField, number>> {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return {};
  }
  const out: Partial<Record<StatusField, number>> = {};
  for (const f of STATUS_FIELDS) {
    const m = new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(text);
    if (m) out[f] = Number(m[1]) / 1024;
  }
  return out;
}

interface Sample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  anon: number;
  file: number;
}

function sample(): Sample {
  const m = process.memoryUsage();
  const s = procStatusMb();
  const mb = (b: number) => b / 2 ** 20;
  return { rss: mb(m.rss), heapUsed: mb(m.heapUsed), heapTotal: mb(m.heapTotal), external: mb(m.external), arrayBuffers: mb(m.arrayBuffers), anon: s.RssAnon ?? 0, file: s.RssFile ?? 0 };
}

/**
 * Opt-in (`--mem`) memory breakdown for the pipeline benchmark: samples the
 * process every `everyMs` and prints, per phase, the highest value of each
 * figure and the main thread's V8 heap spaces at the phase's end. Heap figures
 * are the main isolate's; RSS also holds the commit thread, SQLite and malloc.
 */
export class MemProbe {
  private max: Sample = sample();
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 1000) {
    this.timer = setInterval(() => this.take(), everyMs);
    this.timer.unref();
  }

  private take(): Sample {
    const s = sample();
    for (const k of Object.keys(s) as Array<keyof Sample>) if (s[k] > this.max[k]) this.max[k] = s[k];
    return s;
  }

  /** One line for the phase that just ended (highest values since the last call), then one for its heap spaces. */
  report(phase: string): string {
    const now = this.take();
    const m = this.max;
    const line = (s: Sample) =>
      `rss ${fmt(s.rss)} (anon ${fmt(s.anon)}, file ${fmt(s.file)}), heap used ${fmt(s.heapUsed)} / total ${fmt(s.heapTotal)}, external ${fmt(s.external)} (array buffers ${fmt(s.arrayBuffers)}) MB`;
    const spaces = getHeapSpaceStatistics()
      .filter((sp) => sp.space_size > 1 << 20)
      .map((sp) => `${sp.space_name.replace('_space', '')} ${fmt(sp.space_used_size / 2 ** 20)}/${fmt(sp.space_size / 2 ** 20)}`)
      .join(', ');
    this.max = now;
    return `memory ${phase}: max ${line(m)}\n  at end: ${line(now)}\n  heap spaces used/size MB: ${spaces}\n`;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
