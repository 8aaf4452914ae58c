import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { decodeProfile } from '../../profile-codec.js';
import type { PgConn } from '../pg-conn.js';
import { fromPgKey } from '../pg-keys.js';

/** Engine-level helpers for the PostgreSQL store tests: the real CLI in child processes, and store contents to compare. */

export const CLI = `${process.cwd()}/dist/core/cli/main.js`;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `tributary <args>` in a child process (not blocking the test, which may act on the server meanwhile). */
export function cli(args: string[], env: Record<string, string | undefined> = {}): { done: Promise<CliResult>; pid: number | undefined } {
  const e = { ...process.env, ...env };
  if (!env.TRIBUTARY_FAULT) delete e.TRIBUTARY_FAULT;
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: e });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((res) => child.on('close', (code) => res({ code, stdout, stderr })));
  return { done, pid: child.pid };
}

type Row = Record<string, unknown>;

/** What the partition test compares: each profile as its sorted record keys, with its traits and computed traits. */
export interface Partition {
  profiles: Array<{ records: string[]; traits: unknown; computed: unknown; identifiers: string[] }>;
}

function partition(records: Row[], profiles: Row[], identifiers: Row[], decodeKey: (k: string) => string): Partition {
  const members = new Map<string, string[]>();
  for (const r of records) {
    const id = r.profile_id as string;
    members.set(id, [...(members.get(id) ?? []), r.key as string]);
  }
  const owned = new Map<string, string[]>();
  for (const i of identifiers) owned.set(i.profile_id as string, [...(owned.get(i.profile_id as string) ?? []), decodeKey(i.key as string)]);
  const byId = new Map(profiles.map((p) => [p.id as string, decodeProfile(p.body as string, p.id as string, p.created_at as string, p.updated_at as string)]));
  const out = [...members].map(([id, keys]) => {
    const p = byId.get(id);
    return { records: keys.sort(), traits: p?.traits ?? 'missing profile', computed: p?.computed ?? {}, identifiers: (owned.get(id) ?? []).sort() };
  });
  // A profile with no records would be a lost or half-made merge: keep it visible.
  for (const [id, p] of byId) if (!members.has(id)) out.push({ records: [], traits: p.traits, computed: p.computed, identifiers: (owned.get(id) ?? []).sort() });
  return { profiles: out.sort((a, b) => JSON.stringify(a.records).localeCompare(JSON.stringify(b.records))) };
}

const Q = {
  records: 'SELECT key, profile_id FROM records',
  profiles: 'SELECT id, created_at, updated_at, body FROM profiles',
  identifiers: 'SELECT key, profile_id FROM identifiers',
};

export function sqlitePartition(file: string): Partition {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const all = (sql: string) => db.prepare(sql).all() as Row[];
    return partition(all(Q.records), all(Q.profiles), all(Q.identifiers), (k) => k);
  } finally {
    db.close();
  }
}

export async function pgPartition(conn: PgConn): Promise<Partition> {
  return partition(await conn.q(Q.records), await conn.q(Q.profiles), await conn.q(Q.identifiers), fromPgKey);
}

const PROFILE_ID = /prof_[0-9a-z]+/g;

/**
 * Every core table of a PostgreSQL store, for "a retried run equals a clean run":
 * profile ids replaced by their rank (ids sort in creation order), wall-clock
 * columns left out, row order by seq where the table has one.
 */
export async function pgSnapshot(conn: PgConn): Promise<Record<string, unknown[]>> {
  const tables: Record<string, Row[]> = {
    records: await conn.q('SELECT key, profile_id, kind, observed_at, body, links FROM records ORDER BY seq'),
    identifiers: await conn.q('SELECT key, profile_id FROM identifiers ORDER BY key COLLATE "C"'),
    presented: await conn.q('SELECT identifier_key, profile_id FROM presented ORDER BY identifier_key COLLATE "C", profile_id COLLATE "C"'),
    refused: await conn.q('SELECT record_key, identifier_key, profiles, reason FROM refused ORDER BY seq'),
    merges: await conn.q('SELECT survivor, absorbed, record_key, identifier_key, rule FROM merges ORDER BY seq'),
    aliases: await conn.q('SELECT alias, profile_id FROM aliases ORDER BY alias COLLATE "C"'),
    outbox: await conn.q('SELECT destination, profile_id, merged_from FROM outbox ORDER BY destination, seq'),
    profiles: await conn.q('SELECT id, body, created_at, updated_at FROM profiles ORDER BY id COLLATE "C"'),
    deadLetters: await conn.q('SELECT sync, stream, record_id, origin, reason, payload FROM dead_letters ORDER BY id'),
    state: await conn.q('SELECT sync, stream, state FROM state ORDER BY sync, stream'),
    consent: await conn.q("SELECT * FROM consent_statements ORDER BY 1").catch(() => []),
  };
  const ids = new Set<string>();
  for (const rows of Object.values(tables)) for (const r of rows) for (const v of Object.values(r)) for (const m of String(v).matchAll(PROFILE_ID)) ids.add(m[0]);
  const rank = new Map([...ids].sort().map((id, i) => [id, `P${i}`]));
  const canon = (v: unknown) => (typeof v === 'string' ? v.replace(PROFILE_ID, (id) => rank.get(id) ?? id) : v);
  const out: Record<string, unknown[]> = {};
  for (const [t, rows] of Object.entries(tables)) {
    out[t] = rows.map((r) => {
      if (t === 'profiles') {
        const { createdAt: _c, updatedAt: _u, ...body } = decodeProfile(canon(r.body) as string, canon(r.id) as string, String(r.created_at), String(r.updated_at)) as unknown as Row;
        return body;
      }
      return Object.fromEntries(Object.entries(r).filter(([k]) => !['at', 'created_at', 'updated_at', 'seq'].includes(k)).map(([k, v]) => [k, canon(v)]));
    });
  }
  return out;
}

/**
 * The backend holding a schema's resolve lock (PgStore.exclusive), if one does; with `idleForMs`,
 * only when it has sat idle in its transaction that long (a batch stopped at a fault point, not one at work).
 */
export async function resolveLockHolder(admin: PgConn, schema: string, idleForMs = 0): Promise<number | undefined> {
  const rows = await admin.q<{ pid: number }>(
    `SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended('tributary:resolve:' || $1, 0)
        AND ($2::int = 0 OR (a.state = 'idle in transaction' AND now() - a.state_change > make_interval(secs => $2::int / 1000.0)))`,
    [schema, idleForMs],
  );
  return rows[0]?.pid;
}
