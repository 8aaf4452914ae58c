/**
 * Clustering of scored links that curbs chaining.
 *
 * Plain connected components let one weak link glue two large clusters (A~B, B~C
 * makes A one person with C). Here links are taken strongest first, and two
 * clusters join only when (1) no hard identifier conflicts (two different values
 * of one identifier type, e.g. two CRM ids) and (2) the links between them come
 * from at least `support` of the smaller cluster's records. A record joining a
 * cluster needs one link; two clusters of three need links from two records.
 * Links refused in one pass are retried after later merges (up to a few passes),
 * so the order links arrive in does not change the result much.
 */

import { addEvidence, type NameEvidence } from '../../core/resolution/name-guard.js';
import { givenConflict } from './names.js';

export interface Link {
  a: number;
  b: number;
  probability: number;
}

export interface ClusterInput {
  size: number;
  links: Link[];
  /** Optional starting groups (from exact identifiers): nodes with the same id start together. */
  initial?: Array<string | undefined>;
  /** Per node: identifier type -> value, for the conflict check. */
  hard?: Array<Map<string, string> | undefined>;
  support: number;
  /** Per node: the given and family names behind it (one node per starting group is enough); clusters whose names conflict never join. */
  names?: Array<NameEvidence | undefined>;
  /** With `names`: a cluster whose records name no given name joins nothing (it could be any member of a household). */
  requireGivenName?: boolean;
}

export interface ClusterOutput {
  /** node -> representative node. */
  clusterOf: number[];
  /** Links that joined two clusters, in the order applied. */
  applied: Link[];
  refusedConflict: number;
  refusedWeak: number;
  /** Links refused because the two sides name different people (nameGuard). */
  refusedNames: number;
}

export function clusterLinks(input: ClusterInput): ClusterOutput {
  const parent = Array.from({ length: input.size }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const members = new Map<number, number[]>();
  const hard = new Map<number, Map<string, string>>();
  for (let i = 0; i < input.size; i++) {
    members.set(i, [i]);
    const h = input.hard?.[i];
    if (h && h.size) hard.set(i, new Map(h));
  }
  const names = new Map<number, NameEvidence>();
  input.names?.forEach((e, i) => {
    if (e) names.set(i, { given: { ...e.given }, family: { ...e.family } });
  });
  const adj: Array<Array<number>> = Array.from({ length: input.size }, () => []);
  for (const l of input.links) {
    adj[l.a].push(l.b);
    adj[l.b].push(l.a);
  }
  const union = (ra: number, rb: number) => {
    const [big, small] = (members.get(ra)?.length ?? 0) >= (members.get(rb)?.length ?? 0) ? [ra, rb] : [rb, ra];
    parent[small] = big;
    members.get(big)?.push(...(members.get(small) ?? []));
    members.delete(small);
    const hs = hard.get(small);
    if (hs) {
      const hb = hard.get(big) ?? new Map<string, string>();
      for (const [t, v] of hs) if (!hb.has(t)) hb.set(t, v);
      hard.set(big, hb);
      hard.delete(small);
    }
    const ns = names.get(small);
    if (ns) {
      const nb = names.get(big) ?? { given: {}, family: {} };
      addEvidence(nb, ns);
      names.set(big, nb);
      names.delete(small);
    }
    return big;
  };
  const conflict = (ra: number, rb: number) => {
    const x = hard.get(ra);
    const y = hard.get(rb);
    if (!x || !y) return false;
    for (const [t, v] of x) {
      const w = y.get(t);
      if (w !== undefined && w !== v) return true;
    }
    return false;
  };
  const namesDiffer = (ra: number, rb: number) => {
    const x = names.get(ra);
    const y = names.get(rb);
    if (!input.names) return false;
    const hasGiven = (e?: NameEvidence) => !!e && Object.keys(e.given).length > 0;
    if (input.requireGivenName && (!hasGiven(x) || !hasGiven(y))) return true;
    return !!x && !!y && hasGiven(x) && hasGiven(y) && givenConflict(x, y);
  };
  if (input.initial) {
    const first = new Map<string, number>();
    input.initial.forEach((g, i) => {
      if (g === undefined) return;
      const f = first.get(g);
      if (f === undefined) first.set(g, i);
      else {
        const ra = find(f);
        const rb = find(i);
        if (ra !== rb) union(ra, rb);
      }
    });
  }
  const linksBetween = (ra: number, rb: number) => {
    const small = (members.get(ra)?.length ?? 0) <= (members.get(rb)?.length ?? 0) ? ra : rb;
    const other = small === ra ? rb : ra;
    let supported = 0;
    for (const x of members.get(small) ?? []) if (adj[x].some((y) => find(y) === other)) supported++;
    return { supported, smaller: members.get(small)?.length ?? 1 };
  };
  const sorted = [...input.links].sort((x, y) => y.probability - x.probability);
  const applied: Link[] = [];
  let refusedConflict = 0;
  let refusedWeak = 0;
  let refusedNames = 0;
  let pending = sorted;
  for (let pass = 0; pass < 4 && pending.length; pass++) {
    const next: Link[] = [];
    let merged = 0;
    refusedConflict = 0;
    refusedWeak = 0;
    refusedNames = 0;
    for (const l of pending) {
      const ra = find(l.a);
      const rb = find(l.b);
      if (ra === rb) continue;
      if (conflict(ra, rb)) {
        refusedConflict++;
        continue;
      }
      if (namesDiffer(ra, rb)) {
        refusedNames++;
        continue;
      }
      const { supported, smaller } = linksBetween(ra, rb);
      if (supported < Math.ceil(input.support * smaller)) {
        refusedWeak++;
        next.push(l);
        continue;
      }
      union(ra, rb);
      applied.push(l);
      merged++;
    }
    pending = next;
    if (!merged) break;
  }
  return { clusterOf: parent.map((_, i) => find(i)), applied, refusedConflict, refusedWeak, refusedNames };
}
