import type { ProfileDocument } from '../plugin/types.js';

/**
 * Paths into a profile, shared by payload mappings and `where:` filters:
 *   id, createdAt, updatedAt, aliases
 *   traits.<name>[.<nested>...]     survivorship-chosen values
 *   computed.<name>                 computed traits
 *   consent.<purpose>               true / false, absent when never stated
 *   identifiers.<type>[.<ns>]       one value: the one the matching trait holds, else the first
 *   identifiers.<type>[.<ns>][]     every value, as a list
 */
export interface ProfilePath {
  text: string;
  root: 'id' | 'createdAt' | 'updatedAt' | 'aliases' | 'traits' | 'computed' | 'consent' | 'identifiers';
  /** Segments after the root. */
  rest: string[];
  /** identifiers.<type>[] */
  all: boolean;
}

const ROOTS = new Set<ProfilePath['root']>(['id', 'createdAt', 'updatedAt', 'aliases', 'traits', 'computed', 'consent', 'identifiers']);

/** Parse a path, or return what is wrong with it. */
export function parseProfilePath(text: string): ProfilePath | { error: string } {
  let t = text.trim();
  const all = t.endsWith('[]');
  if (all) t = t.slice(0, -2);
  const parts = t.split('.');
  const root = parts[0] as ProfilePath['root'];
  if (!ROOTS.has(root)) {
    return { error: `"${text}" is not a profile path (it starts with id, createdAt, updatedAt, aliases, traits., computed., consent. or identifiers.)` };
  }
  const rest = parts.slice(1);
  if (rest.some((p) => p === '')) return { error: `"${text}" has an empty segment` };
  const leaf = root === 'id' || root === 'createdAt' || root === 'updatedAt' || root === 'aliases';
  if (leaf && rest.length) return { error: `"${text}": ${root} has no fields` };
  if (!leaf && !rest.length) return { error: `"${text}": name a field, e.g. ${root}.${root === 'identifiers' ? 'email' : 'name'}` };
  if (root === 'identifiers' && rest.length > 2) return { error: `"${text}": expected identifiers.<type> or identifiers.<type>.<namespace>` };
  if (all && root !== 'identifiers') return { error: `"${text}": [] (every value) only applies to identifiers` };
  return { text, root, rest, all };
}

function dig(value: unknown, path: string[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

export function readProfilePath(doc: ProfileDocument, p: ProfilePath): unknown {
  switch (p.root) {
    case 'id':
      return doc.id;
    case 'createdAt':
      return doc.createdAt;
    case 'updatedAt':
      return doc.updatedAt;
    case 'aliases':
      return doc.aliases ?? [];
    case 'traits':
      return dig(doc.traits, p.rest);
    case 'computed':
      return dig(doc.computed ?? {}, p.rest);
    case 'consent':
      return dig(doc.traits.consent, p.rest);
    case 'identifiers': {
      const [type, ns] = p.rest;
      const values = doc.identifiers.filter((i) => i.type === type && (ns === undefined || i.namespace === ns)).map((i) => i.value);
      if (p.all) return values;
      if (!values.length) return undefined;
      // The survivorship-chosen trait of the same name (traits.email) says which value is the main one.
      const preferred = doc.traits[type];
      return typeof preferred === 'string' && values.includes(preferred) ? preferred : values[0];
    }
  }
}
