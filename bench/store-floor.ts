import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CACHE_MB, openSqlite } from '../core/store/sqlite-open.js';
import { arg, fmt } from './measure.js';
import { LAYOUTS, type Layout, type SourceRows } from './store-floor-layouts.js';

/**
 * `npm run bench -- store-floor --from DIR`: the write floor of the store's layout.
 * DIR is what `npm run bench -- pipeline --records N --keep` left (its input files and
 * store.db). The rows that run committed are written again with bare better-sqlite3
 * (prepared statements, the store's pragmas, one transaction per batch, in commit
 * order) into a fresh file per layout: today's tables, and candidate layouts with
 * interned keys. Each layout is written twice: every profile a batch touches upserted
 * in that batch (what the engine does), and each profile written once (in the batch of
 * its last record). No resolving, mapping or encoding: what is left is the cost of the
 * rows themselves, the ceiling any engine on that layout stays under, and its size.
 * Profiles are written with their final body each time (the size of a row rewritten
 * is about the same at each step).
 */
export async function run(args: string[]): Promise<void> {
  const from = arg(args, 'from', '');
  const batchSize = arg(args, 'batch', 5000);
  if (!from) {
    process.stderr.write('usage: npm run bench -- store-floor --from DIR   (DIR as left by `npm run bench -- pipeline --records N --keep`)\n');
    process.exit(2);
  }
  if (!existsSync(join(from, 'store.db'))) {
    process.stderr.write(`store-floor: no store.db in ${from} (run \`npm run bench -- pipeline --records N --keep\` and pass the directory it prints)\n`);
    process.exit(2);
  }
  const inputBytes = readdirSync(from)
    .filter((f) => f.endsWith('.csv') || f.endsWith('.jsonl'))
    .reduce((a, f) => a + statSync(join(from, f)).size, 0);
  const rows = load(join(from, 'store.db'));
  process.stdout.write(
    `store floor: ${fmt(rows.records.length)} records, ${fmt(rows.identifiers.length)} identifiers, ${fmt(rows.profiles.size)} profiles, ` +
      `${fmt(rows.consent.length)} consent statements from ${from} (input ${(inputBytes / 1e6).toFixed(1)} MB), batch ${fmt(batchSize)}\n`,
  );
  const plan = planBatches(rows, batchSize);
  process.stdout.write(
    `profile writes per batch as the engine does them: ${fmt(plan.touchedWrites)} (once each: ${fmt(rows.profiles.size)}; without a record of their own: ${fmt(plan.orphans.length)})\n`,
  );
  for (const layout of LAYOUTS) {
    process.stdout.write(`${layout.name}: ${layout.describe}\n`);
    for (const once of [false, true]) {
      const r = writeAll(layout, rows, plan, once);
      process.stdout.write(
        `  profiles ${once ? 'once         ' : 'every batch  '}: ${fmt(rows.records.length / r.seconds)} records/s, CPU ${(r.cpuMicros / rows.records.length).toFixed(1)} µs/record, ` +
          `store ${(r.bytes / 1e6).toFixed(1)} MB = ${(r.bytes / inputBytes).toFixed(1)}x input\n`,
      );
    }
  }
}

const TABLES = ['records', 'identifiers', 'profiles', 'consent_statements'];

function load(file: string): SourceRows {
  const db = new Database(file, { readonly: true });
  try {
    return loadFrom(db);
  } catch (err) {
    throw new Error(`store-floor: cannot read the rows of ${file} (${(err as Error).message}); it must be a store left by this version's \`npm run bench -- pipeline --keep\``);
  } finally {
    db.close();
  }
}

function loadFrom(db: Database.Database): SourceRows {
  const records = db
    .prepare('SELECT seq, key, source, stream, record_id AS recordId, profile_id AS profileId, kind, observed_at AS observedAt, body, links FROM records ORDER BY seq')
    .all() as SourceRows['records'];
  const identifiers = db.prepare('SELECT key, profile_id AS profileId FROM identifiers').all() as SourceRows['identifiers'];
  const profiles = new Map<string, { createdAt: string; updatedAt: string; body: string }>();
  for (const p of db.prepare('SELECT id, created_at AS createdAt, updated_at AS updatedAt, body FROM profiles').all() as Array<{ id: string; createdAt: string; updatedAt: string; body: string }>)
    profiles.set(p.id, p);
  const consent = db
    .prepare('SELECT record_key AS recordKey, purpose, value, observed_at AS observedAt, source, stream, record_id AS recordId, stored_at AS storedAt FROM consent_statements ORDER BY seq')
    .all() as SourceRows['consent'];
  // Tables before their indexes; the automatic indexes of UNIQUE and PRIMARY KEY have no statement of their own.
  const schema = db
    .prepare(`SELECT sql FROM sqlite_master WHERE tbl_name IN (${TABLES.map(() => '?').join(', ')}) AND sql IS NOT NULL ORDER BY type = 'index', rowid`)
    .pluck()
    .all(...TABLES) as string[];
  return { records, identifiers, profiles, consent, schema };
}

interface Plan {
  /** Record index ranges per batch. */
  batches: Array<[number, number]>;
  /** Per batch: the profiles its records belong to (the engine rewrites each), those whose last record it holds, the identifiers first needed in it. */
  touched: string[][];
  last: string[][];
  identifiers: number[][];
  consent: number[][];
  /** Profiles with no record of their own (a survivor whose records all came from absorbed ones keeps them; this is for safety). */
  orphans: string[];
  touchedWrites: number;
}

function planBatches(rows: SourceRows, batchSize: number): Plan {
  const batchOfRecord = new Map<string, number>();
  const lastBatch = new Map<string, number>();
  const firstBatch = new Map<string, number>();
  const plan: Plan = { batches: [], touched: [], last: [], identifiers: [], consent: [], orphans: [], touchedWrites: 0 };
  for (let i = 0, b = 0; i < rows.records.length; i += batchSize, b++) {
    const end = Math.min(i + batchSize, rows.records.length);
    plan.batches.push([i, end]);
    const touched = new Set<string>();
    for (let j = i; j < end; j++) {
      const r = rows.records[j];
      touched.add(r.profileId);
      batchOfRecord.set(r.key, b);
      lastBatch.set(r.profileId, b);
      if (!firstBatch.has(r.profileId)) firstBatch.set(r.profileId, b);
    }
    plan.touched.push([...touched]);
    plan.touchedWrites += touched.size;
    plan.last.push([]);
    plan.identifiers.push([]);
    plan.consent.push([]);
  }
  // A profile's final id may have no record of its own left (absorbed ones moved theirs): fall back to the last batch.
  const lastIndex = plan.batches.length - 1;
  for (const id of rows.profiles.keys()) {
    const b = lastBatch.get(id);
    if (b === undefined) plan.orphans.push(id);
    plan.last[b ?? lastIndex].push(id);
  }
  rows.identifiers.forEach((x, i) => plan.identifiers[firstBatch.get(x.profileId) ?? lastIndex].push(i));
  rows.consent.forEach((c, i) => plan.consent[batchOfRecord.get(c.recordKey) ?? lastIndex].push(i));
  return plan;
}

function writeAll(layout: Layout, rows: SourceRows, plan: Plan, once: boolean): { seconds: number; cpuMicros: number; bytes: number } {
  const dir = mkdtempSync(join(tmpdir(), 'trib-bench-store-floor-'));
  try {
    const file = join(dir, 'store.db');
    const db = openSqlite(file, CACHE_MB);
    layout.create(db, rows);
    const w = layout.prepare(db, rows);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    plan.batches.forEach(([start, end], b) => {
      db.transaction(() => {
        for (let j = start; j < end; j++) w.record(j);
        for (const c of plan.consent[b]) w.consent(c);
        for (const i of plan.identifiers[b]) w.identifier(i);
        for (const id of once ? plan.last[b] : plan.touched[b]) if (rows.profiles.has(id)) w.profile(id);
        if (!once && b === plan.batches.length - 1) for (const id of plan.orphans) w.profile(id);
      })();
    });
    db.pragma('wal_checkpoint(TRUNCATE)');
    const seconds = (performance.now() - t0) / 1000;
    const u = process.cpuUsage(cpu0);
    db.close();
    const bytes = readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
    return { seconds, cpuMicros: u.user + u.system, bytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
