/** Small helpers shared by the benchmarks: timing, peak RSS, argument parsing. */

export function arg(args: string[], name: string, fallback: number): number;
export function arg(args: string[], name: string, fallback: string): string;
export function arg(args: string[], name: string, fallback: number | string): number | string {
  const i = args.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= args.length) return fallback;
  return typeof fallback === 'number' ? Number(args[i + 1]) : args[i + 1];
}

/** Peak resident set size of this process so far, in MB (the kernel's high-water mark). */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const t0 = process.hrtime.bigint();
  const result = await fn();
  return { result, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
