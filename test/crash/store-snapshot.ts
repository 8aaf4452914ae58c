import Database from 'better-sqlite3';
import { decodeProfile } from '../../core/store/profile-codec.js';

/**
 * Every table of a SQLite store as one comparable value, for "a crashed and
 * resumed run equals a clean run". Profile ids are random per run, so each is
 * replaced by a name two runs that made the same decisions agree on:
 * - a live profile (a row of `profiles`) by its rank among live profiles, `P0`..:
 *   ids sort in creation order (core/util/ids.ts), and such runs created the same
 *   profiles in the same order;
 * - an absorbed profile by the merge that absorbed it, `A(<record key>)` (`#n` when
 *   one record absorbed several, in id order);
 * - any other id by its rank among those, `G0`...
 * Absorbed ids are kept out of the live ranks so that one merge only a resumed run
 * made (a stop that split rows a clean run resolves together, see the SIGTERM test
 * in core/queue/distributed.integration.test.ts) shows in `merges` and `aliases`
 * instead of renumbering every later profile.
 * Wall-clock columns (`at`, `created_at`, `updated_at`, profile createdAt/updatedAt)
 * are the only ones left out.
 * Runs are not part of it: a crashed store has more of them by design (see `runs`).
 */
export interface StoreSnapshot {
  records: unknown[];
  identifiers: unknown[];
  presented: unknown[];
  refused: unknown[];
  merges: unknown[];
  aliases: unknown[];
  outbox: unknown[];
  profiles: unknown[];
  deadLetters: unknown[];
  state: unknown[];
  meta: unknown[];
}

type Row = Record<string, unknown>;

const PROFILE_ID = /prof_[0-9a-z]+/g;

export function snapshotStore(file: string): StoreSnapshot {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const all = (sql: string) => db.prepare(sql).all() as Row[];
    const ids = new Set<string>();
    const collect = (v: unknown) => {
      for (const m of String(v).matchAll(PROFILE_ID)) ids.add(m[0]);
    };
    const tables = {
      records: all('SELECT seq, key, source, stream, record_id, profile_id, kind, observed_at, body, links FROM records ORDER BY seq'),
      identifiers: all('SELECT key, profile_id FROM identifiers ORDER BY key'),
      presented: all('SELECT identifier_key, profile_id FROM presented ORDER BY identifier_key, profile_id'),
      refused: all('SELECT seq, record_key, identifier_key, profiles, reason FROM refused ORDER BY seq'),
      merges: all('SELECT seq, survivor, absorbed, record_key, identifier_key, rule FROM merges ORDER BY seq'),
      aliases: all('SELECT alias, profile_id FROM aliases ORDER BY alias'),
      outbox: all('SELECT destination, profile_id, seq, merged_from FROM outbox ORDER BY destination, seq'),
      profiles: all('SELECT id, body, created_at, updated_at FROM profiles ORDER BY id'),
      deadLetters: all('SELECT id, sync, stream, record_id, origin, reason, payload FROM dead_letters ORDER BY id'),
      state: all('SELECT sync, stream, state FROM state ORDER BY sync, stream'),
      meta: all('SELECT key, value FROM meta ORDER BY key'),
    };
    for (const rows of Object.values(tables)) for (const r of rows) for (const v of Object.values(r)) collect(v);
    const rank = canonicalIds(ids, tables.profiles, tables.merges);
    const canon = (v: unknown): unknown => (typeof v === 'string' ? v.replace(PROFILE_ID, (id) => rank.get(id) ?? id) : v);
    const canonRows = (rows: Row[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, canon(v)])));
    // Decoded, not compared as stored: the same profile may be written compact or as plain JSON (profile-codec.ts).
    const profiles = tables.profiles.map((p) => {
      const decoded = decodeProfile(canon(p.body) as string, canon(p.id) as string, String(p.created_at), String(p.updated_at));
      const { createdAt: _c, updatedAt: _u, id, ...body } = decoded as unknown as Record<string, unknown>;
      return { id, body };
    });
    return {
      records: canonRows(tables.records),
      identifiers: canonRows(tables.identifiers),
      presented: canonRows(tables.presented).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      refused: canonRows(tables.refused),
      merges: canonRows(tables.merges),
      aliases: canonRows(tables.aliases).sort((a, b) => String(a.alias).localeCompare(String(b.alias))),
      outbox: canonRows(tables.outbox),
      profiles,
      deadLetters: canonRows(tables.deadLetters),
      state: tables.state,
      meta: tables.meta,
    };
  } finally {
    db.close();
  }
}

/** The name of every profile id the store mentions (see StoreSnapshot). */
function canonicalIds(ids: Set<string>, profiles: Row[], merges: Row[]): Map<string, string> {
  const out = new Map<string, string>();
  [...new Set(profiles.map((p) => String(p.id)))].sort().forEach((id, i) => out.set(id, `P${i}`));
  const byRecord = new Map<string, string[]>();
  for (const m of merges) {
    const absorbed = String(m.absorbed);
    if (out.has(absorbed)) continue; // still a row of `profiles`: named as live
    const key = String(m.record_key);
    byRecord.set(key, [...(byRecord.get(key) ?? []), absorbed]);
  }
  for (const [key, absorbed] of byRecord) {
    const distinct = [...new Set(absorbed)].sort();
    distinct.forEach((id, n) => out.set(id, distinct.length === 1 ? `A(${key})` : `A(${key})#${n}`));
  }
  [...ids].filter((id) => !out.has(id)).sort().forEach((id, i) => out.set(id, `G${i}`));
  return out;
}

/**
 * The first row where two tables of snapshots differ, both sides as JSON, or undefined when they are equal:
 * for a failure message that shows the difference (vitest truncates a long array and prints "no visual difference").
 */
export function firstDifference(actual: unknown[], expected: unknown[], labels = { actual: 'actual', expected: 'expected' }): string | undefined {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    const a = sortedJson(actual[i]);
    const e = sortedJson(expected[i]);
    if (a === e) continue;
    return `row ${i} of ${actual.length} (${labels.expected}: ${expected.length} rows) differs${differingFields(actual[i], expected[i])}\n  ${labels.actual}: ${a ?? '(none)'}\n  ${labels.expected}: ${e ?? '(none)'}`;
  }
  return undefined;
}

/** ` in id ("P3" vs "P4"), body`: the columns of two rows that differ, short values shown; '' for anything but two rows. */
function differingFields(x: unknown, y: unknown): string {
  const isRow = (v: unknown): v is Row => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isRow(x) || !isRow(y)) return '';
  const fields = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => sortedJson(x[k]) !== sortedJson(y[k]));
  const shown = (k: string) => (typeof x[k] === 'object' || typeof y[k] === 'object' ? k : `${k} (${JSON.stringify(x[k])} vs ${JSON.stringify(y[k])})`);
  return fields.length ? ` in ${fields.map(shown).join(', ')}` : '';
}

/** JSON with object keys sorted, so that key order (which toEqual ignores) makes no difference. */
function sortedJson(v: unknown): string | undefined {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'object' && x !== null && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

export interface RunRow {
  id: number;
  status: string;
  finished: boolean;
  summary: { streams: Record<string, { read: number; written: number; deadLettered: number }> } | null;
}

export function runsOf(file: string): RunRow[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT id, status, finished_at, summary FROM runs WHERE kind = 'sync' ORDER BY id").all() as Row[]).map((r) => ({
      id: Number(r.id),
      status: r.status as string,
      finished: r.finished_at !== null,
      summary: r.summary ? (JSON.parse(r.summary as string) as RunRow['summary']) : null,
    }));
  } finally {
    db.close();
  }
}

/** Rows (parsed or not) a stream's saved file state says are consumed, summed over its files; 0 without a state. */
export function consumedRows(file: string, sync: string): Record<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const out: Record<string, number> = {};
    for (const r of db.prepare('SELECT stream, state FROM state WHERE sync = ?').all(sync) as Row[]) {
      const s = JSON.parse(r.state as string) as { files?: Record<string, { rows: number }> };
      out[r.stream as string] = Object.values(s.files ?? {}).reduce((a, f) => a + f.rows, 0);
    }
    return out;
  } finally {
    db.close();
  }
}

/** Row counts of the tables a batch writes, to show a failed batch left nothing. */
export function tableCounts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const out: Record<string, number> = {};
    for (const t of ['records', 'identifiers', 'presented', 'profiles', 'aliases', 'merges', 'refused', 'outbox', 'dead_letters', 'state']) {
      out[t] = Number(db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get());
    }
    return out;
  } finally {
    db.close();
  }
}
