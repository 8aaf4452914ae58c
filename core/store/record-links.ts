import { identifierKey, type Identifier } from '../schema/canonical.js';
import type { LinkDecision } from '../resolution/types.js';

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

/** A link as encodeLinks takes it: an `[identifier key, rule]` pair, or the resolver's decision itself. */
export type LinkInput = readonly [string, string] | Pick<LinkDecision, 'identifierKey' | 'rule'>;

/** The links of a record, `links[from]` to `links[to - 1]` (a batch's links, the record's listed together). */
export function encodeLinks(identifiers: Identifier[], links: ReadonlyArray<LinkInput>, from = 0, to = links.length): string {
  if (from >= to) return '[]';
  // Every batch record is encoded here: its identifiers are compared with each link's key in place, not turned
  // into keys (and the rule into `mergeOn:<type>`) first. Identifiers of another shape take the way that does.
  if (!plainIdentifiers(identifiers)) return encodeWithKeys(identifiers, from === 0 && to === links.length ? links : links.slice(from, to));
  const out: Stored[] = new Array(to - from);
  for (let l = 0; l < out.length; l++) {
    const link = links[from + l];
    const key = Array.isArray(link) ? link[0] : (link as LinkDecision).identifierKey;
    const rule = Array.isArray(link) ? link[1] : (link as LinkDecision).rule;
    let i = 0;
    while (i < identifiers.length && !isKeyOf(key, identifiers[i])) i++;
    if (i === identifiers.length) out[l] = [key, rule];
    else out[l] = isMergeOn(rule, identifiers[i].type) ? i : [i, rule];
  }
  return JSON.stringify(out);
}

/** Each identifier an object with text type and value and no namespace or a text one: what isKeyOf reads. */
function plainIdentifiers(identifiers: Identifier[]): boolean {
  if (!Array.isArray(identifiers)) return false;
  for (let i = 0; i < identifiers.length; i++) {
    const id = identifiers[i];
    if (id === null || typeof id !== 'object' || typeof id.type !== 'string' || typeof id.value !== 'string') return false;
    if (id.namespace !== undefined && typeof id.namespace !== 'string') return false;
  }
  return true;
}

/** `key === identifierKey(id)`, without making the key. */
function isKeyOf(key: unknown, id: Identifier): boolean {
  if (typeof key !== 'string') return false;
  const { type, value, namespace } = id;
  if (!key.startsWith(type) || !key.endsWith(value)) return false;
  if (!namespace) return key.length === type.length + 1 + value.length && key.charCodeAt(type.length) === 0;
  return (
    key.length === type.length + namespace.length + value.length + 2 &&
    key.charCodeAt(type.length) === 58 &&
    key.startsWith(namespace, type.length + 1) &&
    key.charCodeAt(type.length + 1 + namespace.length) === 0
  );
}

/** `rule === \`mergeOn:${type}\``, without making the string. */
function isMergeOn(rule: unknown, type: string): boolean {
  return typeof rule === 'string' && rule.length === 8 + type.length && rule.startsWith('mergeOn:') && rule.endsWith(type);
}

function encodeWithKeys(identifiers: Identifier[], links: ReadonlyArray<LinkInput>): string {
  const keys = identifiers.map(identifierKey);
  const out: Stored[] = links.map((link) => {
    const key = Array.isArray(link) ? link[0] : (link as LinkDecision).identifierKey;
    const rule = Array.isArray(link) ? link[1] : (link as LinkDecision).rule;
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
