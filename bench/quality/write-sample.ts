import { generatePeople, writeDataset, type DatasetStats } from './generate.js';

export interface WriteSampleResult {
  dir: string;
  files: string[];
  stats: DatasetStats;
}

function intFlag(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`write-sample: ${flag} needs a non-negative integer, got ${value ?? 'nothing'}`);
  return n;
}

/**
 * Writes a generated dataset: `--out DIR` (required), `--people N` (default 300),
 * `--seed N` (default 42). No process.argv or exit here, so a CLI command or a test
 * can call it the same way.
 */
export async function run(args: readonly string[]): Promise<WriteSampleResult> {
  let out: string | undefined;
  let people = 300;
  let seed = 42;
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = args[i + 1];
    if (flag === '--out') out = value;
    else if (flag === '--people') people = intFlag(value, flag);
    else if (flag === '--seed') seed = intFlag(value, flag);
    else throw new Error(`write-sample: unknown argument ${flag} (expected --out DIR, --people N, --seed N)`);
    i++;
  }
  if (!out) throw new Error('write-sample: --out DIR is required');
  const dataset = generatePeople({ people, seed });
  const files = await writeDataset(out, dataset);
  return { dir: out, files, stats: dataset.stats };
}
