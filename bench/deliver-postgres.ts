import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { unlimitedGate } from '../core/delivery/rate-limit.js';
import type { DestinationContext, DestinationItem, ProfileDocument } from '../core/plugin/types.js';
import { postgresDestination, quoteIdent } from '../connectors/postgres/destination.js';
import type { PostgresDestinationConfig } from '../connectors/postgres/destination-config.js';
import { arg, fmt, peakRssMb, timed } from './measure.js';

/**
 * `npm run bench -- deliver-postgres [--profiles N] [--batch N] [--batches 500,2000,5000]`:
 * upsert N profiles (~1 KB documents, six mapped columns) through the postgres
 * destination's `write()` in batches, as the delivery engine calls it, against
 * `COPY ... FROM STDIN` (psql `\copy`) of the same rows into an empty table of
 * the same shape: the floor. `--batches` measures the destination alone at
 * several batch sizes. Connection from PGHOST/PGPORT/PGUSER/PGPASSWORD (default
 * 127.0.0.1:5432 as postgres); a throw-away database is created from `test`.
 */

const CITIES = ['Paris', 'Berlin', 'São Paulo', '東京', 'Zürich', 'Lyon', 'Porto', 'Montréal'];
const COUNTRIES = ['FR', 'DE', 'BR', 'JP', 'CH', 'FR', 'PT', 'CA'];
const FIRST = ['Ann', 'Bob', 'Chloé', 'David', 'Emma', 'Farid', 'Greta', 'Hugo', 'Inès', 'Jon'];
const LAST = ['Martin', 'Smith', 'Dubois', 'Müller', 'Rossi', 'García', 'Nguyen', 'Kowalski'];

/** Profile number `i`, the same every time it is asked for: about 1 KB of JSON. */
export function benchProfile(i: number): ProfileDocument {
  const email = `customer${i}@example.com`;
  const phone = `+1415${String(i % 9_999_999).padStart(7, '0')}`;
  const city = CITIES[i % CITIES.length];
  return {
    id: `prof_${i.toString(36).padStart(8, '0')}`,
    identifiers: [
      { type: 'email', value: email },
      { type: 'phone', value: phone },
      { type: 'external_id', value: `crm-${i}`, namespace: 'crm' },
    ],
    traits: {
      firstName: FIRST[i % FIRST.length],
      lastName: LAST[i % LAST.length],
      email,
      phone,
      address: { street: `${1 + (i % 200)} rue de la République`, city, postalCode: String(10_000 + (i % 89_999)), country: COUNTRIES[i % COUNTRIES.length] },
      company: `Company ${i % 5000}`,
      jobTitle: ['Engineer', 'Buyer', 'Director', 'Analyst'][i % 4],
      tags: i % 3 ? ['newsletter', 'vip'] : ['newsletter'],
      lifetimeValue: (i % 100_000) / 100,
      ordersCount: i % 57,
      lastOrderAt: new Date(Date.UTC(2025, 0, 1) + (i % 365) * 86_400_000).toISOString(),
    },
    computed: { orders90d: i % 7, averageOrder: (i % 9000) / 100, churnRisk: (i % 100) / 100 },
    records: [
      { source: 'crm', stream: 'customers', recordId: String(i) },
      { source: 'shop', stream: 'orders_customers', recordId: `s${i}` },
    ],
    createdAt: new Date(Date.UTC(2023, 0, 1) + i * 1000).toISOString(),
    updatedAt: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
  };
}

/** The mapping a user would write: six columns, the rest in the JSON column. */
function payloadOf(p: ProfileDocument): Record<string, unknown> {
  const t = p.traits as { email: string; firstName: string; lastName: string; address: { city: string; country: string }; lifetimeValue: number };
  return { email: t.email, first_name: t.firstName, last_name: t.lastName, city: t.address.city, country: t.address.country, lifetime_value: t.lifetimeValue };
}

function items(from: number, to: number): DestinationItem[] {
  const out: DestinationItem[] = [];
  for (let i = from; i < to; i++) {
    const profile = benchProfile(i);
    out.push({ key: profile.id, op: 'upsert', profile, payload: payloadOf(profile) });
  }
  return out;
}

const COLUMNS = ['id', 'email', 'first_name', 'last_name', 'city', 'country', 'lifetime_value', 'profile'];

/** COPY text format: backslash, tab, newline and carriage return escaped. */
function copyField(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

async function viaDestination(config: PostgresDestinationConfig, n: number, batch: number): Promise<number> {
  const ctx: DestinationContext<PostgresDestinationConfig> = {
    name: 'bench',
    config,
    logger: { debug() {}, info() {}, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) },
    metrics: { count() {} },
    signal: new AbortController().signal,
    rate: unlimitedGate,
  };
  let ok = 0;
  for (let from = 0; from < n; from += batch) {
    const results = await postgresDestination.write(ctx, items(from, Math.min(n, from + batch)));
    for (const r of results) {
      if (r.status !== 'ok') throw new Error(`write failed: ${JSON.stringify(r)}`);
      ok++;
    }
  }
  return ok;
}

/** psql `\copy ... FROM STDIN`, fed the same rows, with backpressure. */
async function viaCopy(server: pg.ClientConfig, database: string, table: string, n: number): Promise<void> {
  const sql = `\\copy ${quoteIdent(table)} (${COLUMNS.join(', ')}) FROM STDIN`;
  const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', String(server.host), '-p', String(server.port), '-U', String(server.user), '-d', database, '-c', sql], {
    env: { ...process.env, PGPASSWORD: String(server.password ?? '') },
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = once(child, 'exit');
  for (let from = 0; from < n; from += 1000) {
    const lines: string[] = [];
    for (const item of items(from, Math.min(n, from + 1000))) {
      const p = item.payload!;
      const row = [item.key, p.email, p.first_name, p.last_name, p.city, p.country, p.lifetime_value, item.profile];
      lines.push(row.map(copyField).join('\t'));
    }
    if (!child.stdin.write(`${lines.join('\n')}\n`)) await once(child.stdin, 'drain');
  }
  child.stdin.end();
  const [code] = await exited;
  if (code !== 0) throw new Error(`psql exited with ${String(code)}`);
}

export async function run(args: string[]): Promise<void> {
  const n = arg(args, 'profiles', 1_000_000);
  // 1,000 per call: 500-2,000 measured alike (docs/benchmarks/delivery.md, "PostgreSQL destination"),
  // 5,000 slower and larger in memory.
  const batch = arg(args, 'batch', 1000);
  const sweep = arg(args, 'batches', '');
  const server = {
    host: process.env.PGHOST ?? '127.0.0.1',
    port: Number(process.env.PGPORT ?? 5432),
    user: process.env.PGUSER ?? 'postgres',
    password: process.env.PGPASSWORD ?? '',
  };
  const database = `tributary_bench_deliver_${process.pid}_${randomBytes(2).toString('hex')}`;
  const root = new pg.Client({ ...server, database: process.env.PGDATABASE ?? 'test' });
  await root.connect();
  await root.query(`CREATE DATABASE ${database} ENCODING 'UTF8' TEMPLATE template0`);
  const admin = new pg.Client({ ...server, database });
  await admin.connect();
  try {
    const config = postgresDestination.spec.config.parse({ ...server, database, table: 'profiles', createTable: true });
    const sample = JSON.stringify(benchProfile(123_456));
    process.stdout.write(`deliver-postgres: ${fmt(n)} profiles, ~${fmt(sample.length)} bytes of JSON each, 6 mapped columns + jsonb document\n`);
    const gen = await timed(async () => {
      for (let from = 0; from < n; from += 1000) items(from, Math.min(n, from + 1000));
    });
    process.stdout.write(`building the items alone (no database): ${fmt(gen.seconds, 2)} s\n`);

    const sizes = sweep ? sweep.split(',').map(Number) : [batch];
    let best = { rate: 0, batch };
    for (const size of sizes) {
      await admin.query('DROP TABLE IF EXISTS profiles');
      const t = await timed(() => viaDestination(config, n, size));
      const rate = n / t.seconds;
      if (rate > best.rate) best = { rate, batch: size };
      process.stdout.write(`destination write(), batches of ${fmt(size)}: ${fmt(t.seconds, 2)} s, ${fmt(rate)} rows/s, peak RSS so far ${fmt(peakRssMb())} MB\n`);
    }
    const held = await admin.query<{ n: string }>('SELECT count(*) AS n FROM profiles');
    if (Number(held.rows[0].n) !== n) throw new Error(`profiles holds ${held.rows[0].n} rows, expected ${n}`);

    // The floor: the same rows COPYed into an empty table of the same shape (primary key included).
    await admin.query('CREATE TABLE floor (LIKE profiles INCLUDING ALL)');
    const copy = await timed(() => viaCopy(server, database, 'floor', n));
    const copyRate = n / copy.seconds;
    process.stdout.write(`COPY FROM STDIN (psql \\copy), same rows: ${fmt(copy.seconds, 2)} s, ${fmt(copyRate)} rows/s\n`);
    const same = await admin.query<{ n: string }>('SELECT count(*) AS n FROM floor f JOIN profiles p USING (id) WHERE f.profile = p.profile AND f.email = p.email AND f.lifetime_value = p.lifetime_value');
    process.stdout.write(`rows identical in both tables: ${fmt(Number(same.rows[0].n))} of ${fmt(n)}\n`);
    const ratio = copyRate / best.rate;
    process.stdout.write(`ratio COPY / destination (batches of ${fmt(best.batch)}): ${fmt(ratio, 2)}x — target within 2x: ${ratio <= 2 ? 'met' : 'NOT met'}\n`);
    process.stdout.write(`peak RSS: ${fmt(peakRssMb())} MB\n`);
  } finally {
    await admin.end();
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await root.end();
  }
}
