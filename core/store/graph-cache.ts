import type Database from 'better-sqlite3';

/** What one committed batch changed in the graph, as commitBatch wrote it (see GraphCache.apply). */
export interface GraphDelta {
  merges: ReadonlyArray<{ survivor: string; absorbed: string }>;
  /** identifier key -> profile id, upserted after the merges. */
  owners: Iterable<[string, string]>;
  /** (identifier key, profile id) presented rows inserted (duplicates ignored). */
  presented: ReadonlyArray<readonly [string, string]>;
  /** Profiles upserted: their ids and creation times. */
  profiles: ReadonlyArray<{ id: string; createdAt: string }>;
}

/**
 * The stored identity graph in memory: identifier key -> profile, the `presented`
 * rows, and each profile's creation time (presenters are ordered by it). A mirror
 * of the `identifiers`, `presented` and `profiles` tables, answering what the SQL of
 * sqlite-store.ts answers, row for row: `apply` replays commitBatch's statements.
 *
 * Profiles are interned as integer slots, so 2-3 identifiers of one profile share one
 * id string. A merge does not touch the absorbed profile's identifiers: its slot
 * forwards to the survivor's (`UPDATE identifiers SET profile_id = survivor WHERE
 * profile_id = absorbed` in O(1)), and lookups follow forwards with path halving.
 */
export class GraphCache {
  /** The `graph_generation` of `meta` this mirrors. */
  generation: number;
  private readonly owner = new Map<string, number>();
  /** Live profile id -> its slot. An absorbed id is removed: a later row naming it gets a slot of its own, as SQL would keep the text. */
  private readonly slotOf = new Map<string, number>();
  private readonly ids: string[] = [];
  /** slot -> the slot it was merged into (itself when not merged). */
  private readonly forward: number[] = [];
  /** slot -> `created_at` of its `profiles` row; undefined when it has none. */
  private readonly created: Array<string | undefined> = [];
  /** identifier key -> slots of its `presented` rows, in insertion order. */
  private readonly presented = new Map<string, number[]>();
  /** slot -> keys it has `presented` rows for (for merges). */
  private readonly presentedBySlot = new Map<number, string[]>();

  private constructor(generation: number) {
    this.generation = generation;
  }

  /** Read the three tables in one pass (inside the caller's read or write transaction). */
  static load(db: Database.Database, generation: number): GraphCache {
    const g = new GraphCache(generation);
    for (const [id, createdAt] of db.prepare('SELECT id, created_at FROM profiles').raw().iterate() as Iterable<[string, string]>) {
      g.created[g.slot(id)] = createdAt;
    }
    for (const [key, id] of db.prepare('SELECT key, profile_id FROM identifiers').raw().iterate() as Iterable<[string, string]>) {
      g.owner.set(key, g.slot(id));
    }
    for (const [key, id] of db.prepare('SELECT identifier_key, profile_id FROM presented').raw().iterate() as Iterable<[string, string]>) {
      g.addPresented(key, g.slot(id));
    }
    return g;
  }

  get identifierCount(): number {
    return this.owner.size;
  }

  get profileSlots(): number {
    return this.ids.length;
  }

  /** identifier key -> profile id, for the keys that have an owner, in the order asked. */
  lookup(keys: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const k of keys) {
      const s = this.owner.get(k);
      if (s !== undefined) out.set(k, this.ids[this.find(s)]);
    }
    return out;
  }

  /** identifier key -> its number of `presented` rows (keys with none are left out). */
  presentedCounts(keys: readonly string[]): Map<string, number> {
    const out = new Map<string, number>();
    for (const k of keys) {
      const n = this.presented.get(k)?.length;
      if (n) out.set(k, n);
    }
    return out;
  }

  /** The presenters of each key that are stored profiles, oldest (created_at, id) first, at most `limit`. */
  presenters(keys: readonly string[], limit: number): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const k of keys) {
      const rows = this.presented.get(k);
      if (!rows) continue;
      const live = rows.filter((s) => this.created[s] !== undefined);
      if (!live.length) continue;
      live.sort((a, b) => compare(this.created[a]!, this.created[b]!) || compare(this.ids[a], this.ids[b]));
      out.set(k, live.slice(0, limit).map((s) => this.ids[s]));
    }
    return out;
  }

  /** Replay one committed batch, in commitBatch's order: merges, identifier upserts, presented rows, profile upserts. */
  apply(d: GraphDelta): void {
    for (const m of d.merges) this.merge(m.survivor, m.absorbed);
    for (const [key, id] of d.owners) this.owner.set(key, this.slot(id));
    for (const [key, id] of d.presented) this.addPresented(key, this.slot(id));
    for (const p of d.profiles) this.created[this.slot(p.id)] = p.createdAt;
  }

  private merge(survivorId: string, absorbedId: string): void {
    const s = this.slot(survivorId);
    const a = this.slotOf.get(absorbedId);
    if (a === undefined || a === s) return;
    // moveIdentifiers: every key owned by the absorbed profile is now the survivor's.
    this.forward[a] = s;
    // movePresented then deletePresented: the absorbed profile's rows go to the survivor, unless it owns the key.
    for (const key of [...(this.presentedBySlot.get(a) ?? [])]) {
      this.removePresented(key, a);
      if (this.ownerSlot(key) !== s) this.addPresented(key, s);
    }
    this.presentedBySlot.delete(a);
    // dropOwnedPresented: the survivor is not also a presenter of the values it owns.
    for (const key of [...(this.presentedBySlot.get(s) ?? [])]) if (this.ownerSlot(key) === s) this.removePresented(key, s);
    // deleteProfile; the id is free text again (an alias now).
    this.created[a] = undefined;
    this.slotOf.delete(absorbedId);
  }

  private ownerSlot(key: string): number | undefined {
    const o = this.owner.get(key);
    return o === undefined ? undefined : this.find(o);
  }

  private addPresented(key: string, slot: number): void {
    let rows = this.presented.get(key);
    if (!rows) this.presented.set(key, (rows = []));
    if (rows.includes(slot)) return;
    rows.push(slot);
    let keys = this.presentedBySlot.get(slot);
    if (!keys) this.presentedBySlot.set(slot, (keys = []));
    keys.push(key);
  }

  private removePresented(key: string, slot: number): void {
    const rows = this.presented.get(key);
    if (rows) {
      const i = rows.indexOf(slot);
      if (i >= 0) rows.splice(i, 1);
      if (!rows.length) this.presented.delete(key);
    }
    const keys = this.presentedBySlot.get(slot);
    if (keys) {
      const i = keys.indexOf(key);
      if (i >= 0) keys.splice(i, 1);
      if (!keys.length) this.presentedBySlot.delete(slot);
    }
  }

  private slot(id: string): number {
    let s = this.slotOf.get(id);
    if (s === undefined) {
      s = this.ids.length;
      this.ids.push(id);
      this.forward.push(s);
      this.created.push(undefined);
      this.slotOf.set(id, s);
    }
    return s;
  }

  private find(s: number): number {
    const f = this.forward;
    while (f[s] !== s) {
      f[s] = f[f[s]];
      s = f[s];
    }
    return s;
  }
}

/** SQLite's BINARY collation for the ASCII ids and ISO times compared here. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
