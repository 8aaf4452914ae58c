import type Database from 'better-sqlite3';
import { loadConfigFile } from '../../../config/load.js';
import { DeterministicResolver } from '../../../resolution/deterministic.js';
import type { CanonicalRecord } from '../../../schema/canonical.js';
import { compileMapping } from '../../../schema/mapping.js';
import { decodeProfile } from '../../profile-codec.js';
import { decodeRecord } from '../../record-codec.js';
import type { SqliteStore } from '../../sqlite-store.js';
import type { ProfileStore } from '../../types.js';
import type { PgConn } from '../pg-conn.js';
import { fromPgKey } from '../pg-keys.js';
import { generatePeople, SOURCES } from '../../../../bench/quality/generate.js';
import { pinnedClock } from '../../../../bench/quality/clock.js';

/**
 * A resolution scenario both stores can run: generated people (with the
 * generator's traps: shared mailboxes, placeholder values, households) mapped by
 * the example config's streams, in batches per source, resolved by the default
 * resolver with pinned ids and clock, committed with checkpoints, dead letters
 * and two incremental destinations. Then every table, normalised, to compare.
 */
export interface ScenarioBatch {
  sync: string;
  stream: string;
  records: CanonicalRecord[];
}

export function scenarioBatches(opts: { people: number; seed: number; batchSize: number }): ScenarioBatch[] {
  const { config } = loadConfigFile('config/example.yaml');
  const ds = generatePeople({ people: opts.people, seed: opts.seed });
  const clock = pinnedClock();
  const out: ScenarioBatch[] = [];
  // The CRM last, as in the example: its records (id + email + phone) merge profiles the others made.
  for (const source of [...SOURCES].sort((x, y) => Number(x === 'crm') - Number(y === 'crm'))) {
    const cfg = config.sources.find((s) => s.name === source)!;
    const stream = cfg.streams[0];
    const { map } = compileMapping(stream.mapping, {
      source,
      stream: stream.name,
      kind: stream.kind,
      primaryKey: Array.isArray(stream.primaryKey) ? stream.primaryKey : [stream.primaryKey],
      defaultRegion: config.normalize.defaultRegion,
      now: () => clock().toISOString(),
    });
    const rows = (source === 'newsletter' ? ds.rows.newsletter.map((r, i) => ({ id: `n${i}`, ...r })) : ds.rows[source]) as unknown as Array<Record<string, unknown>>;
    let batch: CanonicalRecord[] = [];
    for (const row of rows) {
      const m = map(row);
      if (m.ok) batch.push(m.record);
      if (batch.length >= opts.batchSize) out.push({ sync: source, stream: stream.name, records: batch }), (batch = []);
    }
    if (batch.length) out.push({ sync: source, stream: stream.name, records: batch });
  }
  return out;
}

export const SCENARIO_DESTINATIONS = ['hook', 'warehouse'];

/** Resolve and commit every batch as the engine does (graph read, resolve and commit under `exclusive`). */
export async function runScenario(store: ProfileStore, batches: ScenarioBatch[], idPrefix = 'p'): Promise<void> {
  const { config } = loadConfigFile('config/example.yaml');
  const resolver = new DeterministicResolver();
  let ids = 0;
  const ctx = { logger: { debug() {}, info() {}, warn() {}, error() {} }, rules: config.resolution, now: pinnedClock(), newProfileId: () => `${idPrefix}${String(++ids).padStart(6, '0')}` };
  let n = 0;
  for (const b of batches) {
    n++;
    await store.exclusive(async () => {
      const resolution = await resolver.resolve(ctx, b.records, store);
      await store.commitBatch({
        sync: b.sync,
        records: b.records,
        resolution,
        deadLetters: [{ sync: b.sync, stream: b.stream, recordId: `bad-${n}`, reason: `row ${n} did not map`, payload: { n, nul: 'a\u0000b' } }],
        checkpoints: [{ stream: b.stream, state: { batch: n } }],
        destinations: SCENARIO_DESTINATIONS,
      });
    });
  }
}

export type TableDump = Record<string, unknown[]>;

/** The SQL of the dump, one statement per table; `key` columns of identifier keys decoded by `fix`. */
const DUMP: Array<[string, string, string[]]> = [
  ['records', 'SELECT key, source, stream, record_id, profile_id, kind, observed_at, body, links FROM records ORDER BY seq', []],
  ['identifiers', 'SELECT key, profile_id FROM identifiers', ['key']],
  ['presented', 'SELECT identifier_key, profile_id FROM presented', ['identifier_key']],
  ['profiles', 'SELECT id, created_at, updated_at, body FROM profiles', []],
  ['aliases', 'SELECT alias, profile_id FROM aliases', []],
  ['merges', 'SELECT survivor, absorbed, record_key, identifier_key, rule, at FROM merges ORDER BY seq', ['identifier_key']],
  ['refused', 'SELECT record_key, identifier_key, profiles, reason, at FROM refused ORDER BY seq', ['identifier_key']],
  ['state', 'SELECT sync, stream, state FROM state', []],
  ['outbox', 'SELECT destination, profile_id, merged_from FROM outbox ORDER BY destination, seq', []],
  ['dead_letters', 'SELECT sync, stream, record_id, origin, reason, payload FROM dead_letters ORDER BY id', []],
];

function normalise(table: string, rows: Array<Record<string, unknown>>, keys: string[], decode: (k: string) => string): unknown[] {
  const out = rows.map((r) => {
    const o: Record<string, unknown> = { ...r };
    for (const k of keys) o[k] = decode(o[k] as string);
    // Bodies compared decoded: the same profile may be written compact or plain.
    if (table === 'profiles') o.body = decodeProfile(o.body as string, o.id as string, o.created_at as string, o.updated_at as string);
    // Record bodies too: SQLite (schema 4) writes them compact, the PostgreSQL store plain.
    if (table === 'records') o.body = decodeRecord(o);
    return o;
  });
  // Tables without an order of their own are compared as sets.
  const ordered = /ORDER BY/.test(DUMP.find((d) => d[0] === table)![1]);
  return ordered ? out : out.map((o) => JSON.stringify(o)).sort();
}

export function dumpSqlite(store: SqliteStore): TableDump {
  const db = (store as unknown as { db: Database.Database }).db;
  return Object.fromEntries(DUMP.map(([t, sql, keys]) => [t, normalise(t, db.prepare(sql).all() as Array<Record<string, unknown>>, keys, (k) => k)]));
}

export async function dumpPg(conn: PgConn): Promise<TableDump> {
  const out: TableDump = {};
  for (const [t, sql, keys] of DUMP) out[t] = normalise(t, await conn.q(sql), keys, fromPgKey);
  return out;
}

/** The partition of record keys into profiles, each profile named by its sorted record keys, with its traits. */
export function partitionOf(dump: TableDump): Array<{ records: string[]; traits: unknown }> {
  const members = new Map<string, string[]>();
  for (const r of dump.records as Array<{ key: string; profile_id: string }>) {
    let list = members.get(r.profile_id);
    if (!list) members.set(r.profile_id, (list = []));
    list.push(r.key);
  }
  const traits = new Map<string, unknown>();
  for (const row of dump.profiles as string[]) {
    const p = JSON.parse(row) as { id: string; body: { traits: unknown } };
    traits.set(p.id, p.body.traits);
  }
  return [...members]
    .map(([id, keys]) => ({ records: keys.sort(), traits: traits.get(id) }))
    .sort((a, b) => (a.records[0] < b.records[0] ? -1 : 1));
}
