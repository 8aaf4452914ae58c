import type Database from 'better-sqlite3';
import type { LinkDecision } from '../resolution/types.js';
import * as blocking from './sqlite-blocking.js';
import { encodeProfile } from './profile-codec.js';
import { encodeLinks } from './record-links.js';
import { identifiersOfBody } from './record-codec.js';
import type { StoreStatements } from './sqlite-statements.js';
import type { ResolutionSnapshot } from './types.js';
import { bumpGraphGeneration } from './graph-cache-session.js';

/**
 * `resolve --rebuild`'s write: the rebuilt partition replaces the stored one
 * (identifiers, presented and refused rows, profiles, aliases, probabilistic
 * links, merge history), and every rebuilt profile is queued for each
 * incremental destination, a merge carrying the absorbed profile's pending
 * entries to its survivor. Runs inside the caller's transaction; returns the
 * outbox sequence after the last entry written.
 */
export function writeResolution(db: Database.Database, s: StoreStatements, r: ResolutionSnapshot, destinations: string[], startSeq: number): number {
  let seq = startSeq;
  for (const t of ['identifiers', 'presented', 'profiles', 'aliases', 'refused']) db.exec(`DELETE FROM ${t}`);
  const links = linksByRecord(r.links);
  for (const [key, id] of r.recordProfiles) {
    const own = links.get(key);
    // Links are written against the record's own identifiers (record-links.ts), read from its body.
    const body = own ? (s.identifiersOfRecord.get(key) as string | undefined) : undefined;
    const ids = body === undefined ? [] : identifiersOfBody(body);
    s.setRecordResolution.run(id, encodeLinks(ids, own ?? []), key);
  }
  for (const p of r.profiles) {
    s.upsertProfile.run(p.id, p.createdAt, p.updatedAt, encodeProfile(p));
    for (const d of destinations) s.outboxPut.run(d, p.id, ++seq, (s.outboxGet.get(d, p.id) as string | undefined) ?? '[]');
  }
  for (const [key, id] of r.identifierOwners) s.upsertIdentifier.run(key, id);
  for (const [key, id] of r.presented) s.insertPresented.run(key, id);
  for (const f of r.refused) s.insertRefused.run(f.recordKey, f.identifierKey, JSON.stringify(f.profiles), f.reason, f.at);
  for (const [alias, id] of r.aliases) s.insertAlias.run(alias, id);
  if (r.probabilisticLinks) blocking.replaceProbabilisticLinks(db, r.probabilisticLinks);
  for (const m of r.merges) {
    s.insertMerge.run(m.survivor, m.absorbed, m.recordKey, m.identifierKey, m.rule, m.at);
    for (const d of destinations) {
      const carried = JSON.parse((s.outboxGet.get(d, m.absorbed) as string | undefined) ?? '[]') as string[];
      const prev = JSON.parse((s.outboxGet.get(d, m.survivor) as string | undefined) ?? '[]') as string[];
      s.outboxDelete.run(d, m.absorbed);
      s.outboxPut.run(d, m.survivor, ++seq, JSON.stringify([...new Set([...prev, ...carried, m.absorbed])]));
    }
  }
  s.writeSeq.run(String(seq));
  // Other processes' graph caches must load the rebuilt graph.
  bumpGraphGeneration(db);
  return seq;
}

export function linksByRecord(links: LinkDecision[]): Map<string, Array<[string, string]>> {
  const out = new Map<string, Array<[string, string]>>();
  for (const l of links) {
    let list = out.get(l.recordKey);
    if (!list) out.set(l.recordKey, (list = []));
    list.push([l.identifierKey, l.rule]);
  }
  return out;
}
