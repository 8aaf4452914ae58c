// Reference copy of encodeBatch (core/store/sqlite-commit.ts), linksByRecord (core/store/sqlite-replace.ts) and
// recordKey (core/schema/canonical.ts) as of c903fc8 (before the issue-13 hand-over work), on the reference codecs next
// to it, kept unchanged so the differential test can compare the old encoded batch with the new one. Not used by the worker.
import type { CanonicalRecord } from '../../schema/canonical.js';
import type { LinkDecision } from '../../resolution/types.js';
import type { EncodedBatch } from '../sqlite-commit.js';
import type { BatchCommit } from '../types.js';
import { encodeProfile } from './profile-codec.js';
import { encodeRecord } from './record-codec.js';
import { encodeLinks } from './record-links.js';

export function recordKey(r: Pick<CanonicalRecord, 'source' | 'stream' | 'recordId'>): string {
  return `${r.source}/${r.stream}/${r.recordId}`;
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

export function encodeBatch(batch: BatchCommit, at: string): EncodedBatch {
  const res = batch.resolution;
  const links = linksByRecord(res.links);
  const records: string[] = [];
  const consent: Array<string | number> = [];
  for (const r of batch.records) {
    const key = recordKey(r);
    const profileId = res.assignments.get(key);
    if (!profileId) throw new Error(`resolver left record ${key} without a profile`);
    records.push(key, r.source, r.stream, r.recordId, profileId, r.kind, r.observedAt, encodeRecord(r), encodeLinks(r.identifiers, links.get(key) ?? []));
    if (r.consent) for (const [purpose, value] of Object.entries(r.consent)) consent.push(key, purpose, value ? 1 : 0, r.observedAt, r.source, r.stream, r.recordId);
  }
  const pairs = (it: Iterable<readonly [string, string]>) => {
    const out: string[] = [];
    for (const [a, b] of it) out.push(a, b);
    return out;
  };
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
    owners: pairs(res.identifierOwners),
    presented: pairs(res.presented),
    refused,
    profiles,
    deadLetters,
    checkpoints: batch.checkpoints.map((c) => [c.stream, JSON.stringify(c.state)]),
    blockingKeys: res.blockingKeys,
    probabilisticLinks: res.probabilisticLinks,
    run: batch.run && [batch.run.id, JSON.stringify(batch.run.summary)],
  };
}
