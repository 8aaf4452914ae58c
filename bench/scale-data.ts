import { createWriteStream, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { stringify } from 'yaml';

/**
 * The scale benchmark's data: `sources` CSV files of `records` rows over one population of
 * `sources * step` people, step = records / 3. Source k covers the people [k * step, k * step + records)
 * (modulo the population), shuffled: about every person is in three neighbouring sources, so workers
 * syncing neighbours at the same time resolve the same people (the case a shared store must serialise).
 * Person p's row in source k has, by (p + k) % 10: 0 only a phone, 2 email and phone, else only an email;
 * so the three rows of most people carry three consecutive kinds, and (0, 1, 2) is a phone-only profile and
 * an email-only one merged by the third row (or linked in another order). Names follow the person, so no
 * guard refuses a link: the profile count is the same whatever order the rows are resolved in.
 */
export interface ScaleData {
  sources: number;
  records: number;
  population: number;
  files: string[];
}

const FIRST = ['Ann', 'Bob', 'Chloé', 'David', 'Emma', 'Farid', 'Greta', 'Hugo', 'Inès', 'Jon'];

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** A multiplier coprime with n, so j -> (j * m) % n is a permutation of 0..n-1. */
function shuffler(n: number): number {
  let m = 7919;
  while (gcd(m, n) !== 1) m += 2;
  return m;
}

async function writeSource(file: string, k: number, records: number, step: number, population: number): Promise<void> {
  const out = createWriteStream(file);
  const m = shuffler(records);
  const base = k * step;
  if (!out.write('id,email,phone,first_name,updated_at\n')) await once(out, 'drain');
  for (let j = 0; j < records; j++) {
    const p = (base + ((j * m) % records)) % population;
    const kind = (p + k) % 10;
    const email = kind === 0 ? '' : `u${p}@mail-box.net`;
    const phone = kind === 0 || kind === 2 ? `+1415${2_000_000 + p}` : '';
    const at = new Date(Date.UTC(2026, 0, 1) + (k * records + j) * 1000).toISOString();
    if (!out.write(`s${k}-${j},${email},${phone},${FIRST[p % 10]},${at}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

export async function generateScaleData(dir: string, sources: number, records: number): Promise<ScaleData> {
  const step = Math.max(1, Math.floor(records / 3));
  const population = sources * step;
  // US numbers +1 415 2xx xxxx: seven digits after the area code.
  if (population > 7_999_999) throw new Error(`scale bench: ${population} people do not fit the phone numbering (at most 7,999,999)`);
  const files: string[] = [];
  for (let k = 0; k < sources; k++) {
    const file = join(dir, `source-${k}.csv`);
    await writeSource(file, k, records, step, population);
    files.push(file);
  }
  return { sources, records, population, files };
}

export type StoreChoice = { sqlite: string } | { postgres: string; schema: string };

export interface ScaleConfigOptions {
  file: string;
  data: ScaleData;
  store: StoreChoice;
  batchSize: number;
  /** Distributed mode: the Redis URL and this run's own key prefix. */
  queue?: { redis: string; prefix: string };
}

/** One source per file (csv connector, one identify stream), the given store, `queue:` when distributed. */
export function writeScaleConfig(o: ScaleConfigOptions): string {
  const sources = o.data.files.map((path, k) => ({
    name: `src${k}`,
    connector: 'csv',
    batchSize: o.batchSize,
    streams: [
      {
        name: 'people',
        primaryKey: 'id',
        config: { path },
        mapping: { identifiers: { email: 'email', phone: 'phone' }, traits: { firstName: 'first_name' }, observedAt: 'updated_at' },
      },
    ],
  }));
  const config: Record<string, unknown> = { store: o.store, normalize: { defaultRegion: 'US' }, sources };
  if (o.queue) config.queue = { redis: o.queue.redis, prefix: o.queue.prefix };
  writeFileSync(o.file, stringify(config));
  return o.file;
}
