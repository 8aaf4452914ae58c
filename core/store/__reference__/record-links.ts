// Reference copy of core/store/record-links.ts as of c903fc8 (before the issue-13 hand-over work), kept unchanged so the
// differential test (core/store/handover-differential.test.ts) can compare the old encoding with the new one. Not used by
// the worker. When the stored form changes on purpose, the differential test no longer holds: delete this folder and the test with that change.
import { identifierKey, type Identifier } from '../../schema/canonical.js';

/**
 * A record's links as its row keeps them (schema 3). The identifiers a record links
 * are nearly always its own, linked by `mergeOn:<type>`, so a link is written as the
 * index of the identifier in the record body (`0`), as `[index, rule]` for another
 * rule, and as `[identifier key, rule]` (the form before schema 3, still read) when
 * the key is not one of the record's. About 10 bytes a record instead of about 95.
 * The index refers to the body's `identifiers`, whose order nothing rewrites (an
 * expired record keeps them, see `expiredRecord`); a forgotten record's row goes whole.
 */
type Stored = number | [number | string, string];

export function encodeLinks(identifiers: Identifier[], links: Array<[string, string]>): string {
  if (!links.length) return '[]';
  const keys = identifiers.map(identifierKey);
  const out: Stored[] = links.map(([key, rule]) => {
    const i = keys.indexOf(key);
    if (i < 0) return [key, rule];
    return rule === `mergeOn:${identifiers[i].type}` ? i : [i, rule];
  });
  return JSON.stringify(out);
}

export function decodeLinks(text: string, identifiers: Identifier[] | undefined): Array<[string, string]> {
  const stored = JSON.parse(text) as Stored[];
  return stored.map((l) => {
    const [at, rule] = typeof l === 'number' ? [l, undefined] : l;
    if (typeof at === 'string') return [at, rule!];
    const id = identifiers?.[at];
    // Only a body rewritten without its identifiers could get here: say so rather than invent a key.
    if (!id) throw new Error(`record links refer to identifier ${at}, which the record body does not have`);
    return [identifierKey(id), rule ?? `mergeOn:${id.type}`];
  });
}
