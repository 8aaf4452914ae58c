import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import type { ProfileStore } from '../store/types.js';

/**
 * Everything the store holds about one person, as one JSON document (the right
 * of access): the profile, every record with its source and field warnings,
 * consent as the profile holds it (and each record's statements), where it was
 * delivered and when, merges, dead letters and pending forget deletes about it.
 */
export interface SubjectDocument {
  exportedAt: string;
  profile: unknown;
  consent: { current: Record<string, unknown>; statements: Array<{ source: string; stream: string; recordId: string; observedAt: string; consent: Record<string, boolean> }> };
  records: unknown[];
  warnings: Array<{ source: string; stream: string; recordId: string; field: string; reason: string }>;
  merges: unknown[];
  destinations: Array<{ destination: string; ref: string; at: string }>;
  deadLetters: unknown[];
}

export async function exportSubject(store: ProfileStore, profileId: string, now = new Date()): Promise<SubjectDocument | undefined> {
  const profile = await store.profileDocument(profileId);
  if (!profile) return undefined;
  const explained = await store.explain(profileId);
  const records = explained.records;
  const held = await store.privacy.subjectHoldings([profileId, ...explained.aliases], profile.identifiers.map((i) => i.value));
  return {
    exportedAt: now.toISOString(),
    profile,
    consent: {
      current: (profile.traits.consent as Record<string, unknown> | undefined) ?? {},
      statements: records.filter((r) => r.consent && Object.keys(r.consent).length).map((r) => ({ source: r.source, stream: r.stream, recordId: r.recordId, observedAt: r.observedAt, consent: r.consent! })),
    },
    records: records.map(({ profileId: _p, ...r }) => r),
    warnings: records.flatMap((r) => (r.warnings ?? []).map((w) => ({ source: r.source, stream: r.stream, recordId: r.recordId, field: w.field, reason: w.reason }))),
    merges: explained.merges,
    destinations: held.delivered,
    deadLetters: held.deadLetters,
  };
}

/** Write the document readable by its owner only (it is personal data), atomically: a temp file, fsync, rename. */
export function writeSubjectFile(file: string, doc: SubjectDocument): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(doc, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
