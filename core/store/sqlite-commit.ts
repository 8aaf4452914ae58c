import type Database from 'better-sqlite3';
import { recordKey, type CanonicalRecord } from '../schema/canonical.js';
import type { LinkDecision, MergeEvent, ProbabilisticLink } from '../resolution/types.js';
import { fault } from '../util/fault-points.js';
import { encodeProfile } from './profile-codec.js';
import { encodeRecord } from './record-codec.js';
import { encodeLinks } from './record-links.js';
import * as blocking from './sqlite-blocking.js';
import { bumpGraphGeneration } from './graph-cache-session.js';
import type { BatchCommit } from './types.js';
import type { StoreStatements } from './sqlite-statements.js';

/**
 * A batch as the SQLite statements take it: every row already encoded, in flat
 * arrays of strings and numbers (a fixed number of fields per row). Made by
 * `encodeBatch` on the thread that resolved the batch; written by `writeBatch` in
 * the same process (commitBatch) or on the commit thread (commit-worker.ts), which
 * then receives strings, not the resolver's objects: those cost more to clone
 * than to encode.
 */
export interface EncodedBatch {
  sync: string;
  /** When the batch was handed over: consent statements, dead letters and checkpoints carry it. */
  at: string;
  merges: MergeEvent[];
  destinations: string[];
  /** key, source, stream, recordId, profileId, kind, observedAt, body, links: 9 per record. */
  records: string[];
  /** record key, purpose, value (0/1), observedAt, source, stream, recordId: 7 per statement. */
  consent: Array<string | number>;
  /** Records read again: their refusals are replaced. */
  reread: string[];
  /** identifier key, profile id: 2 per owner. */
  owners: string[];
  /** identifier key, profile id: 2 per presented row. */
  presented: string[];
  /** record key, identifier key, profiles (JSON), reason, at: 5 per refusal. */
  refused: string[];
  /** id, createdAt, updatedAt, body: 4 per profile. */
  profiles: string[];
  /** sync, stream, recordId, origin, reason, payload (JSON): 6 per dead letter. */
  deadLetters: Array<string | null>;
  checkpoints: Array<[string, string]>;
  blockingKeys?: Array<[string, string[]]>;
  probabilisticLinks?: ProbabilisticLink[];
  /** The run's id and its counts (JSON) once this batch is committed. */
  run?: [number, string];
}

export const RECORD_FIELDS = 9;

export function encodeBatch(batch: BatchCommit, at: string): EncodedBatch {
  const res = batch.resolution;
  const all = res.links;
  const starts = runStarts(all);
  const lists = starts ? undefined : decisionsByRecord(all);
  const records: string[] = [];
  const consent: Array<string | number> = [];
  const linksOf = (r: CanonicalRecord, key: string): string => {
    if (lists) return encodeLinks(r.identifiers, lists.get(key) ?? NO_LINKS);
    const from = starts!.get(key);
    if (from === undefined) return '[]';
    const run = all[from].recordKey;
    let to = from + 1;
    while (to < all.length && all[to].recordKey === run) to++;
    return encodeLinks(r.identifiers, all, from, to);
  };
  for (const r of batch.records) {
    const key = recordKey(r);
    const profileId = res.assignments.get(key);
    if (!profileId) throw new Error(`resolver left record ${key} without a profile`);
    records.push(key, r.source, r.stream, r.recordId, profileId, r.kind, r.observedAt, encodeRecord(r), linksOf(r, key));
    if (r.consent) for (const [purpose, value] of Object.entries(r.consent)) consent.push(key, purpose, value ? 1 : 0, r.observedAt, r.source, r.stream, r.recordId);
  }
  // Not for...of: iterating a Map allocates an entry array per element.
  const ownerPairs: string[] = [];
  res.identifierOwners.forEach((owner, key) => ownerPairs.push(key, owner));
  const presented: string[] = [];
  for (const pair of res.presented) presented.push(pair[0], pair[1]);
  const refused: string[] = [];
  for (const r of res.refused) refused.push(r.recordKey, r.identifierKey, JSON.stringify(r.profiles), r.reason, r.at);
  const profiles: string[] = [];
  for (const p of res.profiles) profiles.push(p.id, p.createdAt, p.updatedAt, encodeProfile(p));
  const deadLetters: Array<string | null> = [];
  for (const d of batch.deadLetters) deadLetters.push(d.sync, d.stream, d.recordId ?? null, d.origin ?? null, d.reason, JSON.stringify(d.payload ?? null));
  return {
    sync: batch.sync,
    at,
    merges: res.merges,
    destinations: batch.destinations,
    records,
    consent,
    // Without the resolver's list, every record is treated as possibly read again.
    reread: res.reread ?? batch.records.map(recordKey),
    owners: ownerPairs,
    presented,
    refused,
    profiles,
    deadLetters,
    checkpoints: batch.checkpoints.map((c) => [c.stream, JSON.stringify(c.state)]),
    blockingKeys: res.blockingKeys,
    probabilisticLinks: res.probabilisticLinks,
    run: batch.run && [batch.run.id, JSON.stringify(batch.run.summary)],
  };
}

const NO_LINKS: LinkDecision[] = [];

/**
 * Where each record's run of links starts in the resolver's list, or undefined when a record's links are not
 * listed together. The resolver lists them together: a start per record instead of a list (about 200 bytes).
 */
function runStarts(links: LinkDecision[]): Map<string, number> | undefined {
  const starts = new Map<string, number>();
  for (let i = 0; i < links.length; i++) {
    const key = links[i].recordKey;
    if (i > 0 && key === links[i - 1].recordKey) continue;
    if (starts.has(key)) return undefined;
    starts.set(key, i);
  }
  return starts;
}

/** The resolver's links by record: linksByRecord (sqlite-replace.ts) without an `[identifier key, rule]` array per link. */
function decisionsByRecord(links: LinkDecision[]): Map<string, LinkDecision[]> {
  const out = new Map<string, LinkDecision[]>();
  for (const l of links) {
    const list = out.get(l.recordKey);
    if (list) list.push(l);
    else out.set(l.recordKey, [l]);
  }
  return out;
}

/** Write an encoded batch inside the caller's transaction; returns the new graph generation. */
export function writeBatch(db: Database.Database, s: StoreStatements, e: EncodedBatch): number {
  let seq = Number(s.readSeq.get() ?? 0);
  // Merges first: absorbed profiles hand everything to their survivor.
  for (const m of e.merges) {
    s.moveRecords.run(m.survivor, m.absorbed);
    s.moveIdentifiers.run(m.survivor, m.absorbed);
    s.moveAliases.run(m.survivor, m.absorbed);
    s.movePresented.run(m.survivor, m.absorbed, m.survivor);
    s.deletePresented.run(m.absorbed);
    s.dropOwnedPresented.run(m.survivor, m.survivor);
    s.insertAlias.run(m.absorbed, m.survivor);
    s.deleteProfile.run(m.absorbed);
    s.insertMerge.run(m.survivor, m.absorbed, m.recordKey, m.identifierKey, m.rule, m.at);
    for (const d of e.destinations) {
      const carried = s.outboxGet.get(d, m.absorbed) as string | undefined;
      const survivorPrev = s.outboxGet.get(d, m.survivor) as string | undefined;
      const merged = new Set<string>([...JSON.parse(survivorPrev ?? '[]'), ...JSON.parse(carried ?? '[]'), m.absorbed]);
      s.outboxDelete.run(d, m.absorbed);
      s.outboxPut.run(d, m.survivor, ++seq, JSON.stringify([...merged]));
    }
  }
  const r = e.records;
  for (let i = 0; i < r.length; i += RECORD_FIELDS) s.upsertRecord.run(r[i], r[i + 1], r[i + 2], r[i + 3], r[i + 4], r[i + 5], r[i + 6], r[i + 7], r[i + 8]);
  const c = e.consent;
  for (let i = 0; i < c.length; i += 7) s.insertConsent.run(c[i], c[i + 1], c[i + 2], c[i + 3], c[i + 4], c[i + 5], c[i + 6], e.at);
  fault('commit.after-records');
  // A record read again replaces its refusals rather than adding the same ones once more.
  for (const key of e.reread) s.deleteRefused.run(key);
  for (let i = 0; i < e.owners.length; i += 2) s.upsertIdentifier.run(e.owners[i], e.owners[i + 1]);
  for (let i = 0; i < e.presented.length; i += 2) s.insertPresented.run(e.presented[i], e.presented[i + 1]);
  const f = e.refused;
  for (let i = 0; i < f.length; i += 5) s.insertRefused.run(f[i], f[i + 1], f[i + 2], f[i + 3], f[i + 4]);
  const p = e.profiles;
  for (let i = 0; i < p.length; i += 4) {
    s.upsertProfile.run(p[i], p[i + 1], p[i + 2], p[i + 3]);
    for (const d of e.destinations) {
      const prev = s.outboxGet.get(d, p[i]) as string | undefined;
      s.outboxPut.run(d, p[i], ++seq, prev ?? '[]');
    }
  }
  const dl = e.deadLetters;
  for (let i = 0; i < dl.length; i += 6) s.insertDeadLetter.run(dl[i], dl[i + 1], dl[i + 2], dl[i + 3], dl[i + 4], dl[i + 5], e.at);
  if (e.blockingKeys) blocking.saveBlockingKeys(db, e.blockingKeys);
  if (e.probabilisticLinks) blocking.saveProbabilisticLinks(db, e.probabilisticLinks);
  for (const [stream, state] of e.checkpoints) s.upsertState.run(e.sync, stream, state, e.at);
  // With its checkpoint: the run's row counts exactly the batches committed, on the thread or not (commit-pipeline.ts).
  if (e.run) s.updateRunOfBatch.run(e.run[1], e.at, e.run[0]);
  s.writeSeq.run(String(seq));
  const generation = bumpGraphGeneration(db);
  fault('commit.before-commit');
  return generation;
}
