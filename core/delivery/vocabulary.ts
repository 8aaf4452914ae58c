import type { TributaryConfig } from '../config/schema.js';
import type { ProfilePath } from './profile-path.js';

/**
 * What the configured sources can put on a profile: trait names, consent
 * purposes, computed traits and identifier types. A destination mapping or
 * filter naming something outside it is most likely a typo: a warning at load.
 */
export interface Vocabulary {
  traits: Set<string>;
  consent: Set<string>;
  computed: Set<string>;
  identifiers: Set<string>;
}

export function vocabularyOf(config: TributaryConfig): Vocabulary {
  const v: Vocabulary = { traits: new Set(), consent: new Set(), computed: new Set(Object.keys(config.resolution.computed)), identifiers: new Set() };
  for (const s of config.sources) {
    for (const st of s.streams) {
      for (const t of Object.keys(st.mapping.traits)) v.traits.add(t);
      for (const c of Object.keys(st.mapping.consent ?? {})) v.consent.add(c);
      for (const id of Object.keys(st.mapping.identifiers)) {
        v.identifiers.add(id);
        // Mapped emails and phones also become the email/phone traits.
        if (id === 'email' || id === 'phone') v.traits.add(id);
      }
    }
  }
  return v;
}

/** A warning for a path naming something no source produces, or undefined. */
export function unknownName(p: ProfilePath, vocab: Vocabulary): string | undefined {
  const list = (s: Set<string>) => [...s].sort().join(', ') || 'none';
  const [first, second] = p.rest;
  switch (p.root) {
    case 'traits':
      return vocab.traits.has(first) ? undefined : `no source maps trait "${first}" (traits mapped: ${list(vocab.traits)})`;
    case 'consent':
      return vocab.consent.has(first) ? undefined : `no source maps consent "${first}" (purposes mapped: ${list(vocab.consent)})`;
    case 'computed':
      return vocab.computed.has(first) ? undefined : `no computed trait "${first}" in resolution.computed (defined: ${list(vocab.computed)})`;
    case 'identifiers': {
      const type = second ? `${first}.${second}` : first;
      const known = vocab.identifiers.has(type) || [...vocab.identifiers].some((t) => t.split('.')[0] === first && !second);
      return known ? undefined : `no source maps identifier "${type}" (identifiers mapped: ${list(vocab.identifiers)})`;
    }
    default:
      return undefined;
  }
}
