import { normalizeEmail, normalizePhone } from '../../core/schema/normalize.js';
import type { GeneratedDataset } from './types.js';

/** The normalizers the resolver under test uses, so "reachable" means reachable for it. */
export interface IdentifierNormalizers {
  email(s: string): string | null;
  /** `region` is the row's country when the source has one (crm), else undefined. */
  phone(s: string, region?: string): string | null;
}

/** The project's own normalizers (core/schema/normalize.ts), the usual argument to reachableTruth. */
export const coreNormalizers: IdentifierNormalizers = {
  email: (s) => {
    const n = normalizeEmail(s);
    return n.ok ? n.value : null;
  },
  phone: (s, region) => {
    const n = normalizePhone(s, region);
    return n.ok ? n.value : null;
  },
};

const REGIONS: Array<string | undefined> = [undefined, 'FR', 'US', 'GB', 'DE'];

/**
 * The dataset's trap values as `normalize` writes them: placeholder and shared-mailbox
 * emails, placeholder and household phones. A placeholder phone is read in every region,
 * since "1234567890" is a valid German number once a region is guessed.
 */
export function trapValues(dataset: GeneratedDataset, normalize: IdentifierNormalizers): { emails: Set<string>; phones: Set<string> } {
  const emails = new Set<string>();
  const phones = new Set<string>();
  for (const e of dataset.traps.emails) {
    const v = normalize.email(e);
    if (v !== null) emails.add(v);
  }
  for (const p of dataset.traps.phones) {
    for (const region of p.region ? [p.region] : REGIONS) {
      const v = normalize.phone(p.value, region);
      if (v !== null) phones.add(v);
    }
  }
  return { emails, phones };
}

/** Identifier keys (`email\0v`, `phone\0v`) of one row, after normalization. */
function identifiersOf(dataset: GeneratedDataset, n: IdentifierNormalizers): Array<{ key: string; ids: string[] }> {
  const out: Array<{ key: string; ids: string[] }> = [];
  const email = (v: string | null) => (v === null ? null : n.email(v));
  const phone = (v: string | null, region: string | null) => (v === null ? null : n.phone(v, region ?? undefined));
  const push = (key: string, e: string | null, p: string | null) =>
    out.push({ key, ids: [e === null ? null : `email\u0000${e}`, p === null ? null : `phone\u0000${p}`].filter((x): x is string => x !== null) });
  const { rows, keys } = dataset;
  rows.crm.forEach((r, i) => push(keys.crm[i], email(r.email), phone(r.phone, r.country)));
  rows.orders.forEach((r, i) => push(keys.orders[i], email(r.email), null));
  rows.support.forEach((r, i) => push(keys.support[i], email(r.email), phone(r.phone, null)));
  rows.newsletter.forEach((r, i) => push(keys.newsletter[i], email(r.email), null));
  return out;
}

/**
 * The best clustering exact identifiers can give: records of the same person joined
 * through shared normalized emails and phones, never through a trap value (placeholder,
 * household landline, shared mailbox) nor any value that two people happen to share.
 * Score a resolver's recall against this to separate "missed a link it could see" from
 * "no link existed". Returns record key -> cluster id (the key of one member record);
 * a record with no usable identifier is its own cluster.
 */
export function reachableTruth(dataset: GeneratedDataset, normalize: IdentifierNormalizers): Map<string, string> {
  const traps = trapValues(dataset, normalize);
  const blocked = new Set([...[...traps.emails].map((e) => `email\u0000${e}`), ...[...traps.phones].map((p) => `phone\u0000${p}`)]);

  const rows = identifiersOf(dataset, normalize);
  const owners = new Map<string, Set<string>>();
  for (const { key, ids } of rows) {
    const person = personOf(dataset, key);
    for (const id of ids) {
      const set = owners.get(id) ?? new Set<string>();
      set.add(person);
      owners.set(id, set);
    }
  }

  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let root = x;
    for (let up = parent.get(root); up !== undefined && up !== root; up = parent.get(root)) root = up;
    // Path compression keeps later finds near O(1).
    for (let cur = x, up = parent.get(cur); up !== undefined && cur !== root; cur = up, up = parent.get(cur)) parent.set(cur, root);
    return root;
  };
  const firstHolder = new Map<string, string>();
  for (const { key, ids } of rows) {
    parent.set(key, key);
    for (const id of ids) {
      if (blocked.has(id) || (owners.get(id)?.size ?? 0) > 1) continue;
      const holder = firstHolder.get(id);
      if (holder === undefined) firstHolder.set(id, key);
      else parent.set(find(key), find(holder));
    }
  }
  const out = new Map<string, string>();
  for (const { key } of rows) out.set(key, find(key));
  return out;
}

function personOf(dataset: GeneratedDataset, key: string): string {
  const person = dataset.truth.get(key);
  if (person === undefined) throw new Error(`reachableTruth: record ${key} has no truth entry`);
  return person;
}
