import type { DestinationItem, ProfileDocument, WriteResult } from '../../core/plugin/types.js';
import type { SqlDestinationConfig } from './destination-config.js';

/** What a column holds, for CREATE TABLE and for converting values. */
export type ColumnKind = 'key' | 'text' | 'number' | 'boolean' | 'timestamp' | 'json';

export interface PlannedColumn {
  name: string;
  kind: ColumnKind;
  /**
   * `standard` columns (email, phone, updated_at without a mapping) are written
   * when the table has them; every other column must exist.
   */
  standard?: boolean;
}

/** One row to upsert: the values by column name, and the items (indexes in the batch) it settles. */
export interface PlannedRow {
  key: string;
  values: Record<string, unknown>;
  items: number[];
}

export interface PlannedDelete {
  ref: string;
  items: number[];
  /** Remove the row even without mirror: a consent withdrawal or a forget (a `deleted_at` stamp would keep the data in use). */
  hard?: boolean;
}

/** A batch turned into rows: what to upsert, what to delete, and what is already decided. */
export interface PlannedBatch {
  /** Results known before any SQL runs (an upsert without a profile, deletes without mirror). */
  decided: Map<number, WriteResult>;
  upserts: PlannedRow[];
  deletes: PlannedDelete[];
  columns: PlannedColumn[];
  /** Why no item can be written (a mapping output clashing with the key column): thrown by the caller. */
  fatal?: string;
}

/** The columns written without a mapping, besides the key and the JSON document. */
const STANDARD: Array<{ name: string; kind: ColumnKind; value(p: ProfileDocument): unknown }> = [
  { name: 'email', kind: 'text', value: (p) => identifierOrTrait(p, 'email') },
  { name: 'phone', kind: 'text', value: (p) => identifierOrTrait(p, 'phone') },
  { name: 'updated_at', kind: 'timestamp', value: (p) => p.updatedAt ?? null },
];

function identifierOrTrait(p: ProfileDocument, type: 'email' | 'phone'): string | null {
  const trait = p.traits?.[type];
  if (typeof trait === 'string' && trait) return trait;
  return p.identifiers?.find((i) => i.type === type)?.value ?? null;
}

/** The kind a created column gets: from the first non-null value the batch holds for it. */
function kindOf(value: unknown): ColumnKind {
  if (typeof value === 'number' || typeof value === 'bigint') return 'number';
  if (typeof value === 'boolean') return 'boolean';
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) return 'json';
  return 'text';
}

/**
 * Turn a batch into rows. Items are grouped by the row they touch (the profile
 * id; a delete's `previous.ref`): the last item of a group decides what happens
 * and the others share its result, so a statement never touches one row twice
 * (which `ON CONFLICT DO UPDATE` refuses).
 */
export function planBatch(config: SqlDestinationConfig, batch: DestinationItem[]): PlannedBatch {
  const decided = new Map<number, WriteResult>();
  const groups = new Map<string, number[]>();
  batch.forEach((item, i) => {
    const target = item.op === 'track' ? `track\u0000${i}` : item.op === 'delete' ? (item.previous?.ref ?? item.key) : item.key;
    const group = groups.get(target);
    if (group) group.push(i);
    else groups.set(target, [i]);
  });

  const upserts: PlannedRow[] = [];
  const deletes: PlannedDelete[] = [];
  const reserved = new Set([config.keyColumn, config.jsonColumn, config.deletedAtColumn].filter((n): n is string => typeof n === 'string'));
  // Mapped columns in first-seen order; the kind comes from the first non-null value.
  const mapped = new Map<string, ColumnKind | undefined>();
  let standard = false;
  let fatal: string | undefined;
  for (const items of groups.values()) {
    const item = batch[items[items.length - 1]];
    const settle = (r: WriteResult) => items.forEach((j) => decided.set(j, r));
    if (item.op === 'track') {
      settle({ status: 'permanent', reason: 'this destination takes profiles, not track events' });
    } else if (item.op === 'delete') {
      const hard = item.reason === 'consent_withdrawn' || item.erase === true;
      if (config.mirror || config.deletedAtColumn || hard) deletes.push({ ref: item.previous?.ref ?? item.key, items, ...(hard ? { hard } : {}) });
      else settle({ status: 'ok' });
    } else if (!item.profile) {
      settle({ status: 'permanent', reason: `upsert of ${item.key} carries no profile` });
    } else {
      const values: Record<string, unknown> = { [config.keyColumn]: item.key };
      if (item.payload) {
        for (const [name, raw] of Object.entries(item.payload)) {
          if (reserved.has(name)) {
            fatal ??= `the mapping writes column "${name}", which is the table's ${name === config.keyColumn ? 'key' : 'reserved'} column (keyColumn, jsonColumn, deletedAtColumn); rename the mapping output`;
            continue;
          }
          const value = raw === undefined ? null : raw;
          values[name] = value;
          if (mapped.get(name) === undefined) mapped.set(name, value === null ? undefined : kindOf(value));
        }
      } else {
        standard = true;
        for (const s of STANDARD) if (!reserved.has(s.name)) values[s.name] = s.value(item.profile);
      }
      if (config.jsonColumn) values[config.jsonColumn] = item.profile;
      if (config.deletedAtColumn) values[config.deletedAtColumn] = null;
      upserts.push({ key: item.key, values, items });
    }
  }

  const columns: PlannedColumn[] = [{ name: config.keyColumn, kind: 'key' }];
  if (standard) for (const s of STANDARD) if (!reserved.has(s.name) && !mapped.has(s.name)) columns.push({ name: s.name, kind: s.kind, standard: true });
  for (const [name, kind] of mapped) columns.push({ name, kind: kind ?? 'text' });
  if (config.jsonColumn) columns.push({ name: config.jsonColumn, kind: 'json' });
  if (config.deletedAtColumn) columns.push({ name: config.deletedAtColumn, kind: 'timestamp' });
  return { decided, upserts, deletes, columns, fatal };
}
