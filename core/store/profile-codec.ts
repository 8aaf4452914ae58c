import type Database from 'better-sqlite3';
import type { ProfileState } from '../resolution/types.js';

/**
 * Profile bodies as the SQLite store keeps them (schema 3). A profile of ~1.2 KB JSON
 * said most things twice: id and times already in their columns, `traitSources` equal
 * to the `src` of each trait's aggregate cell, every cell `{"v":..,"at":..,"src":..}`
 * spelling out its keys and a 24-character time, the same few record keys repeated.
 * The compact body drops what the columns hold, writes each cell as `[v, at, i]`
 * (`at` as epoch milliseconds when that gives the same text back, `i` an index into
 * `$s`, the profile's list of sources) and writes `traitSources` as `0` when it is
 * exactly the cells' sources. `traits` stay as they are: SQL reads them
 * (`json_extract(body, '$.traits.consent.x')`).
 *
 * The codec never changes what the resolver gets back: a profile the compact form
 * cannot reproduce exactly (a key starting with `$`, an array where a cell goes, a
 * cell without a value) is stored as plain JSON, and a body that carries `id` (plain,
 * or written before schema 3) is read as it is.
 */
type Cell = { v: unknown; at: string; src: string };
type Packed = [unknown, number | string, number];

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCell(x: unknown): x is Cell {
  if (!isPlainObject(x)) return false;
  const keys = Object.keys(x);
  return (
    keys.length === 3 && keys[0] === 'v' && keys[1] === 'at' && keys[2] === 'src' &&
    x.v !== undefined && typeof x.at === 'string' && typeof x.src === 'string'
  );
}

/** A time as a number only when turning it back gives the very same text. */
function packTime(at: string): number | string {
  const ms = Date.parse(at);
  return Number.isFinite(ms) && new Date(ms).toISOString() === at ? ms : at;
}

function sameSources(sources: unknown, cells: unknown): boolean {
  if (!isPlainObject(sources) || !isPlainObject(cells)) return false;
  const a = Object.keys(sources);
  const b = Object.keys(cells);
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const cell = cells[b[i]];
    if (a[i] !== b[i] || !isCell(cell) || cell.src !== sources[a[i]]) return false;
  }
  return true;
}

/** The compact object, or undefined when only plain JSON keeps this profile exactly. */
function compact(p: ProfileState): Record<string, unknown> | undefined {
  const keys = Object.keys(p);
  if (keys[0] !== 'id' || keys[1] !== 'createdAt' || keys[2] !== 'updatedAt') return undefined;
  const sources: string[] = [];
  const index = new Map<string, number>();
  const out: Record<string, unknown> = {};
  const rec = p as unknown as Record<string, unknown>;
  for (let k = 3; k < keys.length; k++) {
    const key = keys[k];
    const value = rec[key];
    if (key.startsWith('$') || value === undefined) return undefined;
    if (key === 'traitSources' && sameSources(value, (p.aggregates as Record<string, unknown> | undefined)?.traits)) {
      out[key] = 0;
    } else if (key === 'aggregates' && isPlainObject(value)) {
      const groups: Record<string, unknown> = {};
      for (const [g, entries] of Object.entries(value)) {
        if (!isPlainObject(entries)) {
          groups[g] = entries;
          continue;
        }
        const packed: Record<string, unknown> = {};
        for (const [name, cell] of Object.entries(entries)) {
          if (Array.isArray(cell)) return undefined;
          if (!isCell(cell)) {
            packed[name] = cell;
            continue;
          }
          let i = index.get(cell.src);
          if (i === undefined) index.set(cell.src, (i = sources.push(cell.src) - 1));
          packed[name] = [cell.v, packTime(cell.at), i] satisfies Packed;
        }
        groups[g] = packed;
      }
      out[key] = groups;
    } else {
      if (key === 'traitSources' && value === 0) return undefined;
      out[key] = value;
    }
  }
  if (sources.length) out.$s = sources;
  return out;
}

/** The body to store for a profile (its id and times go in their own columns). */
export function encodeProfile(p: ProfileState): string {
  return JSON.stringify(compact(p) ?? p);
}

/** The profile a stored body and its row's columns stand for. */
export function decodeProfile(body: string, id: string, createdAt: string, updatedAt: string): ProfileState {
  const o = JSON.parse(body) as Record<string, unknown>;
  if ('id' in o) return o as unknown as ProfileState;
  const sources = (o.$s as string[] | undefined) ?? [];
  const out: Record<string, unknown> = { id, createdAt, updatedAt };
  let aggregates: Record<string, unknown> | undefined;
  if (isPlainObject(o.aggregates)) {
    aggregates = {};
    for (const [g, entries] of Object.entries(o.aggregates)) {
      if (!isPlainObject(entries)) {
        aggregates[g] = entries;
        continue;
      }
      const cells: Record<string, unknown> = {};
      for (const [name, c] of Object.entries(entries)) {
        if (!Array.isArray(c)) {
          cells[name] = c;
          continue;
        }
        const [v, at, i] = c as Packed;
        cells[name] = { v, at: typeof at === 'number' ? new Date(at).toISOString() : at, src: sources[i] };
      }
      aggregates[g] = cells;
    }
  }
  for (const key of Object.keys(o)) {
    if (key === '$s') continue;
    if (key === 'aggregates' && aggregates) out[key] = aggregates;
    else if (key === 'traitSources' && o[key] === 0) {
      const cells = (aggregates?.traits ?? {}) as Record<string, Cell>;
      out[key] = Object.fromEntries(Object.keys(cells).map((k) => [k, cells[k].src]));
    } else out[key] = o[key];
  }
  return out as unknown as ProfileState;
}

/** A `profiles` row read with `id, created_at, updated_at, body`. */
export function profileOfRow(row: Record<string, unknown>): ProfileState {
  return decodeProfile(row.body as string, row.id as string, row.created_at as string, row.updated_at as string);
}

/** Schema 3: every stored profile body rewritten in the compact form (inside the migration's transaction). */
export function compactStoredProfiles(db: Database.Database): void {
  const page = db.prepare('SELECT rowid AS r, id, created_at, updated_at, body FROM profiles WHERE rowid > ? ORDER BY rowid LIMIT 1000');
  // Bodies before schema 3 carry their own id and times: those are what readers saw, so the columns take them.
  const put = db.prepare('UPDATE profiles SET body = ?, created_at = ?, updated_at = ? WHERE rowid = ?');
  for (let after = 0; ; ) {
    const rows = page.all(after) as Array<Record<string, unknown>>;
    if (!rows.length) return;
    for (const row of rows) {
      const p = profileOfRow(row);
      put.run(encodeProfile(p), p.createdAt, p.updatedAt, row.r);
    }
    after = Number(rows[rows.length - 1].r);
  }
}
