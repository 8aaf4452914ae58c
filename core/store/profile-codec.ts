import type Database from 'better-sqlite3';
import type { ProfileState } from '../resolution/types.js';
import { decodeLinks, encodeLinks } from './record-links.js';
import type { Identifier } from '../schema/canonical.js';
import { putOwn as put } from '../util/own-key.js';

/**
 * Profile bodies as the SQLite store keeps them (schema 3). A profile of ~1.2 KB JSON
 * said most things twice: id and times already in their columns, `traitSources` equal
 * to the `src` of each trait's aggregate cell, `traits` equal to the cells' values,
 * every cell `{"v":..,"at":..,"src":..}` spelling out its keys, the same few record
 * keys repeated. The compact body drops what the columns hold, writes each cell as
 * `[v, at, i]` (`i` an index into `$s`, the profile's list of sources; times stay
 * text: packing them as numbers tripled the codec's CPU for 12% fewer bytes) and
 * writes `traitSources` as `0` when it is
 * exactly the cells' sources, and `traits` as `0` when they are exactly what the
 * resolver publishes from the cells (SQL that reads a trait looks in both places:
 * see `withdrawalStatus`).
 *
 * Since the seventh session a cell whose time is its source's (the common case: a
 * record's values share its observedAt) is `[v, i]`, the time kept once per source in
 * `$t` next to `$s`; `computed` is `0` when it is exactly the values of the computed
 * cells, and is read so only in a body with `$t` or without `$s` (the encoder before it wrote
 * a profile's own `computed: 0` as it was). Bodies with `[v, at, i]` cells (written before) read as they did.
 *
 * The codec never changes what the resolver gets back: a profile the compact form
 * cannot reproduce exactly (a key starting with `$`, a key named `__proto__` where the compact
 * form builds an object, an array where a cell goes, a cell without a value) is stored as plain JSON, and a body that carries `id` (plain,
 * or written before schema 3) is read as it is.
 */
type Cell = { v: unknown; at: string; src: string };
type Packed = [unknown, string, number] | [unknown, number];

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

// The codec runs for every profile read and written, so it walks objects with `for...in`
// (own keys, in Object.keys order: these objects come from JSON or literals, nothing
// inherited) instead of Object.keys/entries, whose arrays were 10% of the pipeline's garbage.
const CELL_KEYS = ['v', 'at', 'src'];
const HEAD_KEYS = ['id', 'createdAt', 'updatedAt'];

function isCell(x: unknown): x is Cell {
  if (!isPlainObject(x)) return false;
  let n = 0;
  for (const k in x) if (k !== CELL_KEYS[n++]) return false;
  return n === 3 && x.v !== undefined && typeof x.at === 'string' && typeof x.src === 'string';
}

/** `sources` has exactly the keys of `cells`, in order, each naming its cell's `src`. */
function sameSources(sources: unknown, cells: unknown, cellKeys: string[]): boolean {
  if (!isPlainObject(sources) || !isPlainObject(cells)) return false;
  let i = 0;
  for (const k in sources) {
    if (k !== cellKeys[i++]) return false;
    const cell = cells[k];
    if (!isCell(cell) || cell.src !== sources[k]) return false;
  }
  return i === cellKeys.length;
}

/**
 * The traits the resolver publishes from its cells (survivorship's `publish`):
 * each cell's value under its name, `consent.<purpose>` cells under `consent`.
 */
function traitsOfCells(cells: Record<string, unknown>): Record<string, unknown> | undefined {
  const traits: Record<string, unknown> = {};
  for (const name in cells) {
    const cell = cells[name];
    if (!isPlainObject(cell)) return undefined;
    if (name.startsWith('consent.')) put((traits.consent ??= {}) as Record<string, unknown>, name.slice(8), cell.v);
    else put(traits, name, cell.v);
  }
  return traits;
}

/**
 * Whether two values are the same JSON (key order included), which is what is
 * stored; walked rather than stringified twice, since this runs for every write.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    // As `every` did (without its closure): a hole in `a` is not compared.
    for (let i = 0; i < a.length; i++) if (i in a && !sameJson(a[i], b[i])) return false;
    return true;
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const kb = Object.keys(b);
  let i = 0;
  for (const k in a) if (k !== kb[i++] || !sameJson(a[k], b[k])) return false;
  return i === kb.length;
}

/** The values of the computed cells under their names, or undefined when one is not a cell. */
function valuesOfCells(cells: unknown): Record<string, unknown> | undefined {
  if (!isPlainObject(cells)) return undefined;
  const values: Record<string, unknown> = {};
  for (const name in cells) {
    const cell = cells[name];
    if (!isCell(cell)) return undefined;
    put(values, name, cell.v);
  }
  return values;
}

/**
 * Whether `computed` is exactly the values of the computed cells (valuesOfCells, then sameJson), compared in
 * place: building that object and listing its keys, for every profile written, was most of the garbage here.
 */
function sameComputed(computed: unknown, cells: unknown): boolean {
  if (!isPlainObject(computed) || !isPlainObject(cells)) return false;
  for (const name in cells) if (!isCell(cells[name])) return false;
  const names = Object.keys(cells);
  let i = 0;
  for (const k in computed) if (k !== names[i++] || !sameJson((cells[k] as Cell).v, computed[k])) return false;
  return i === names.length;
}

/** A trait cell's name the in-place comparison of sameTraits handles: any other, the traits are built to compare. */
function plainTraitName(name: string): boolean {
  if (name === '__proto__' || name === 'consent') return false;
  if (!name.startsWith('consent.')) return true;
  // A purpose that is an array index would come first among the published consent's keys.
  const c = name.charCodeAt(8);
  return name !== 'consent.__proto__' && !(c >= 48 && c <= 57);
}

/**
 * Whether `traits` is exactly what the resolver publishes from the cells (traitsOfCells, then sameJson), compared
 * in place: each cell's value under its name, in the cells' order, and at the first `consent.<purpose>` cell a
 * `consent` object with every purpose in order. Cells named so that publishing them does something else (a
 * `consent` cell, `__proto__`, a purpose that is an index) take the way that builds the traits.
 */
function sameTraits(traits: unknown, cells: unknown, cellKeys: string[]): boolean {
  if (!isPlainObject(traits) || !isPlainObject(cells)) return false;
  for (const name of cellKeys) {
    if (!plainTraitName(name)) return sameTraitsBuilt(traits, cells);
    if (!isPlainObject(cells[name])) return false;
  }
  let j = 0;
  let consentSeen = false;
  for (const k in traits) {
    while (consentSeen && j < cellKeys.length && cellKeys[j].startsWith('consent.')) j++;
    if (j === cellKeys.length) return false;
    const name = cellKeys[j++];
    if (!name.startsWith('consent.')) {
      if (k !== name || !sameJson((cells[name] as Cell).v, traits[k])) return false;
      continue;
    }
    consentSeen = true;
    if (k !== 'consent' || !sameConsent(traits[k], cells, cellKeys, j - 1)) return false;
  }
  while (consentSeen && j < cellKeys.length && cellKeys[j].startsWith('consent.')) j++;
  return j === cellKeys.length;
}

/** `consent` is exactly the purposes of the `consent.<purpose>` cells from `from` on, in order, with their values. */
function sameConsent(consent: unknown, cells: Record<string, unknown>, cellKeys: string[], from: number): boolean {
  if (!isPlainObject(consent)) return false;
  let j = from;
  for (const purpose in consent) {
    while (j < cellKeys.length && !cellKeys[j].startsWith('consent.')) j++;
    if (j === cellKeys.length) return false;
    const name = cellKeys[j++];
    if (name.length !== 8 + purpose.length || !name.endsWith(purpose) || !sameJson((cells[name] as Cell).v, consent[purpose])) return false;
  }
  while (j < cellKeys.length && !cellKeys[j].startsWith('consent.')) j++;
  return j === cellKeys.length;
}

function sameTraitsBuilt(traits: Record<string, unknown>, cells: Record<string, unknown>): boolean {
  const derived = traitsOfCells(cells);
  return derived !== undefined && sameJson(derived, traits);
}

/** The compact object, or undefined when only plain JSON keeps this profile exactly. */
function compact(p: ProfileState): Record<string, unknown> | undefined {
  const rec = p as unknown as Record<string, unknown>;
  let k = 0;
  for (const key in rec) if (key !== HEAD_KEYS[k] || ++k === 3) break;
  if (k !== 3) return undefined;
  // Sources are few (a profile's records): a list searched in place beats a Map built per profile. Room for
  // four, cut to the count at the end: a list grown by push from empty starts at 17 slots.
  const sources: string[] = new Array(4);
  // The time of each source's first cell: later cells of that source with the same time leave theirs out.
  const times: string[] = new Array(4);
  let count = 0;
  const out: Record<string, unknown> = {};
  const cells = (p.aggregates as Record<string, unknown> | undefined)?.traits;
  const cellKeys = isPlainObject(cells) ? Object.keys(cells) : [];
  k = 0;
  for (const key in rec) {
    if (k++ < 3) continue;
    const value = rec[key];
    // JSON leaves an undefined value out: so does the compact form.
    if (value === undefined) continue;
    // The compact object is built by assignment: a key named __proto__ anywhere in it is kept by plain JSON.
    if (key.startsWith('$') || key === '__proto__') return undefined;
    if (key === 'traitSources' && sameSources(value, cells, cellKeys)) {
      out[key] = 0;
    } else if (key === 'traits' && sameTraits(value, cells, cellKeys)) {
      out[key] = 0;
    } else if (key === 'computed' && sameComputed(value, (p.aggregates as Record<string, unknown> | undefined)?.computed)) {
      out[key] = 0;
    } else if (key === 'aggregates' && isPlainObject(value)) {
      const groups: Record<string, unknown> = {};
      for (const g in value) {
        if (g === '__proto__') return undefined;
        const entries = value[g];
        if (!isPlainObject(entries)) {
          groups[g] = entries;
          continue;
        }
        const packed: Record<string, unknown> = {};
        for (const name in entries) {
          const cell = entries[name];
          if (Array.isArray(cell) || name === '__proto__') return undefined;
          if (!isCell(cell)) {
            packed[name] = cell;
            continue;
          }
          let i = sources.indexOf(cell.src);
          if (i < 0) {
            i = count++;
            sources[i] = cell.src;
            times[i] = cell.at;
          }
          packed[name] = (cell.at === times[i] ? [cell.v, i] : [cell.v, cell.at, i]) satisfies Packed;
        }
        groups[g] = packed;
      }
      out[key] = groups;
    } else {
      if ((key === 'traitSources' || key === 'traits' || key === 'computed') && value === 0) return undefined;
      out[key] = value;
    }
  }
  if (count) {
    sources.length = count;
    times.length = count;
    out.$s = sources;
    out.$t = times;
  }
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
  const times = (o.$t as string[] | undefined) ?? [];
  const out: Record<string, unknown> = { id, createdAt, updatedAt };
  // The parsed object is ours: packed cells are replaced where they are (key order kept).
  const aggregates = isPlainObject(o.aggregates) ? o.aggregates : undefined;
  if (aggregates) {
    for (const g in aggregates) {
      const entries = aggregates[g];
      if (!isPlainObject(entries)) continue;
      for (const name in entries) {
        const c = entries[name];
        if (!Array.isArray(c)) continue;
        if (c.length === 2) entries[name] = { v: c[0], at: times[c[1] as number], src: sources[c[1] as number] };
        else entries[name] = { v: c[0], at: c[1], src: sources[c[2] as number] };
      }
    }
  }
  for (const key in o) {
    if (key === '$s' || key === '$t') continue;
    const value = o[key];
    if (key === 'traits' && value === 0) out[key] = traitsOfCells((aggregates?.traits ?? {}) as Record<string, unknown>);
    // `computed: 0` is the cells' values in a body with `$t`, or with no sources at all (no cells: `{}`); an older
    // body with `$s` and no `$t` was written before `computed` could be 0 for its cells, so its 0 is the profile's own.
    else if (key === 'computed' && value === 0 && (o.$t !== undefined || o.$s === undefined)) out[key] = valuesOfCells(aggregates?.computed ?? {}) ?? value;
    else if (key === 'traitSources' && value === 0) {
      const cells = (aggregates?.traits ?? {}) as Record<string, Cell>;
      const sourcesOf: Record<string, string> = {};
      for (const k in cells) put(sourcesOf, k, cells[k].src);
      out[key] = sourcesOf;
    } else put(out, key, value);
  }
  return out as unknown as ProfileState;
}

/** A `profiles` row read with `id, created_at, updated_at, body`. */
export function profileOfRow(row: Record<string, unknown>): ProfileState {
  return decodeProfile(row.body as string, row.id as string, row.created_at as string, row.updated_at as string);
}

/**
 * Schema 3, inside the migration's transaction: every stored profile body rewritten
 * in the compact form, and every record's links in the form of record-links.ts.
 */
export function compactStoredBodies(db: Database.Database): void {
  compactStoredLinks(db);
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

function compactStoredLinks(db: Database.Database): void {
  const page = db.prepare(
    "SELECT seq, links, json_extract(body, '$.identifiers') AS ids FROM records WHERE seq > ? AND links != '[]' ORDER BY seq LIMIT 1000",
  );
  const put = db.prepare('UPDATE records SET links = ? WHERE seq = ?');
  for (let after = 0; ; ) {
    const rows = page.all(after) as Array<Record<string, unknown>>;
    if (!rows.length) return;
    for (const row of rows) {
      const ids = (JSON.parse((row.ids as string | null) ?? '[]') as Identifier[]) ?? [];
      put.run(encodeLinks(ids, decodeLinks(row.links as string, ids)), row.seq);
    }
    after = Number(rows[rows.length - 1].seq);
  }
}
