import type { OutboxEntry } from '../types.js';
import type { PgConn } from './pg-conn.js';

type Entry = { destination: string; profileId: string; mergedFrom: string; order: number } | null;

/**
 * A batch's outbox changes, worked out in memory and written in two statements.
 * Each `touch`/`merge` is what the SQLite store does row by row (a new queue
 * position for the profile, a merge carrying the absorbed profile's pending
 * entry to its survivor); the queue positions are taken from the sequence in
 * that order at write time, so the order of entries is the SQLite store's.
 */
export class OutboxPlan {
  private readonly stored = new Map<string, string>();
  private readonly changed = new Map<string, Entry>();
  private puts = 0;

  private constructor(private readonly destinations: string[]) {}

  /** Reads the entries of these profiles that are queued for these destinations. */
  static async load(conn: PgConn, destinations: string[], profileIds: string[]): Promise<OutboxPlan> {
    const plan = new OutboxPlan(destinations);
    if (!destinations.length || !profileIds.length) return plan;
    const rows = await conn.q<{ destination: string; profile_id: string; merged_from: string }>(
      'SELECT destination, profile_id, merged_from FROM outbox WHERE destination = ANY($1::text[]) AND profile_id = ANY($2::text[])',
      [destinations, [...new Set(profileIds)]],
    );
    for (const r of rows) plan.stored.set(slot(r.destination, r.profile_id), r.merged_from);
    return plan;
  }

  private current(d: string, p: string): string | undefined {
    const k = slot(d, p);
    if (this.changed.has(k)) return this.changed.get(k)?.mergedFrom;
    return this.stored.get(k);
  }

  private put(d: string, p: string, mergedFrom: string) {
    this.changed.set(slot(d, p), { destination: d, profileId: p, mergedFrom, order: this.puts++ });
  }

  /** A profile changed: queued again at the end, keeping what it carries. */
  touch(profileId: string): void {
    for (const d of this.destinations) this.put(d, profileId, this.current(d, profileId) ?? '[]');
  }

  /** `absorbed` went into `survivor`: its entry goes, the survivor's carries it. */
  merge(survivor: string, absorbed: string): void {
    for (const d of this.destinations) {
      const carried = JSON.parse(this.current(d, absorbed) ?? '[]') as string[];
      const prev = JSON.parse(this.current(d, survivor) ?? '[]') as string[];
      this.changed.set(slot(d, absorbed), null);
      this.put(d, survivor, JSON.stringify([...new Set([...prev, ...carried, absorbed])]));
    }
  }

  async write(conn: PgConn): Promise<void> {
    const gone = [...this.changed].filter(([k, e]) => e === null && this.stored.has(k)).map(([k]) => unslot(k));
    if (gone.length) {
      await conn.q('DELETE FROM outbox o USING unnest($1::text[], $2::text[]) AS g(d, p) WHERE o.destination = g.d AND o.profile_id = g.p', [
        gone.map((g) => g[0]),
        gone.map((g) => g[1]),
      ]);
    }
    const puts = [...this.changed.values()].filter((e): e is NonNullable<Entry> => e !== null).sort((a, b) => a.order - b.order);
    if (!puts.length) return;
    // One sequence value per entry, ascending in the order the entries were queued.
    await conn.q(
      `WITH seqs AS (SELECT nextval('outbox_seq_gen') AS seq, n FROM generate_series(1, $1::int) AS n)
       INSERT INTO outbox(destination, profile_id, seq, merged_from)
       SELECT t.d, t.p, s.seq, t.m FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(d, p, m, n)
         JOIN (SELECT seq, row_number() OVER (ORDER BY seq) AS n FROM seqs) s ON s.n = t.n
       ON CONFLICT (destination, profile_id) DO UPDATE SET seq = excluded.seq, merged_from = excluded.merged_from`,
      [puts.length, puts.map((e) => e.destination), puts.map((e) => e.profileId), puts.map((e) => e.mergedFrom)],
    );
  }
}

function slot(d: string, p: string): string {
  return `${d}\u0000${p}`;
}

function unslot(k: string): [string, string] {
  const i = k.indexOf('\u0000');
  return [k.slice(0, i), k.slice(i + 1)];
}

/** Queued profiles of a destination in queue order, after `afterSeq`. */
export async function pendingOutbox(conn: PgConn, destination: string, limit: number, afterSeq = 0): Promise<OutboxEntry[]> {
  const rows = await conn.q<{ profile_id: string; seq: string; merged_from: string }>(
    'SELECT profile_id, seq, merged_from FROM outbox WHERE destination = $1 AND seq > $2 ORDER BY seq LIMIT $3',
    [destination, afterSeq, limit],
  );
  return rows.map((r) => ({ profileId: r.profile_id, seq: Number(r.seq), mergedFrom: JSON.parse(r.merged_from) as string[] }));
}

/** Deleting by (profile, seq) keeps an entry that a sync queued again meanwhile. */
export async function ackOutbox(conn: PgConn, destination: string, entries: OutboxEntry[]): Promise<void> {
  if (!entries.length) return;
  await conn.q('DELETE FROM outbox o USING unnest($2::text[], $3::bigint[]) AS e(p, s) WHERE o.destination = $1 AND o.profile_id = e.p AND o.seq = e.s', [
    destination,
    entries.map((e) => e.profileId),
    entries.map((e) => e.seq),
  ]);
}
