import type { ProfileDocument } from '../plugin/types.js';
import { parseIdentifierKey } from '../schema/canonical.js';
import type { ProfileState } from '../resolution/types.js';

/** The export/destination shape of a profile: the public contract, built from the store's state. */
export function toProfileDocument(
  state: ProfileState,
  records: ProfileDocument['records'],
  aliases: string[],
): ProfileDocument {
  const identifiers = [...state.identifiers].sort().map((k) => {
    const id = parseIdentifierKey(k);
    return id.namespace ? { type: id.type, value: id.value, namespace: id.namespace } : { type: id.type, value: id.value };
  });
  const doc: ProfileDocument = {
    id: state.id,
    identifiers,
    traits: state.traits,
    records,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
  if (Object.keys(state.computed).length) doc.computed = state.computed;
  if (aliases.length) doc.aliases = aliases;
  return doc;
}
