import { Document, isMap, isSeq } from 'yaml';
import type { StreamDescriptor } from '../plugin/types.js';

const EMAIL_WORDS = new Set(['email', 'mail', 'emailaddress']);
const PHONE_WORDS = new Set(['phone', 'mobile', 'cell', 'cellphone', 'tel', 'telephone', 'msisdn', 'whatsapp', 'phonenumber']);
const TIME = /(_at|_on|date|time|timestamp|updated|created|modified)$/i;

/** `first_name` -> `firstName`, `Last Name` -> `lastName`: trait names in the house style. */
export function traitName(field: string): string {
  const parts = field.split(/[^A-Za-z0-9]+/).filter(Boolean);
  if (!parts.length) return field;
  return parts.map((p, i) => (i === 0 ? p.charAt(0).toLowerCase() + p.slice(1) : p.charAt(0).toUpperCase() + p.slice(1).toLowerCase())).join('');
}

/** Which identifier a field looks like, from its name or format; undefined when it looks like neither. */
export function identifierGuess(field: string, format?: string): 'email' | 'phone' | undefined {
  // Whole words only (`work_email`, `MobileNumber`, `E-Mail`), so `hotel` or `emailed_count` are not guessed.
  const words = field
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .replace(/\be[-_ ]mail/g, 'email')
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (format === 'email' || words.some((w) => EMAIL_WORDS.has(w))) return 'email';
  if (words.some((w) => PHONE_WORDS.has(w))) return 'phone';
  return undefined;
}

export interface StanzaInput {
  stream: StreamDescriptor;
  /** The stream's connector options, as configured (a file path, a table). */
  config?: Record<string, unknown>;
  /** The stream's primary key as configured, used when discover reports none. */
  primaryKey?: string[];
}

/** One stream stanza as the YAML schema reads it (core/config/schema.ts streamSchema), plus the comments to print. */
export function streamStanza({ stream, config, primaryKey }: StanzaInput): { stanza: Record<string, unknown>; notes: string[] } {
  const fields = Object.keys(stream.fields);
  const notes: string[] = [];
  let key = stream.primaryKey.length ? stream.primaryKey : (primaryKey ?? []);
  if (!key.length) {
    const guess = fields.find((f) => /^id$/i.test(f)) ?? fields.find((f) => /[_\-\s]id$/i.test(f));
    if (guess) {
      key = [guess];
      notes.push(`primaryKey ${guess} is a guess from its name: the source reports none`);
    }
  }
  const identifiers: Record<string, string> = {};
  const traits: Record<string, string> = {};
  const cursor = stream.cursorCandidates[0];
  for (const f of fields) {
    const guess = identifierGuess(f, stream.fields[f].format);
    if (guess && !identifiers[guess]) identifiers[guess] = f;
    else if (guess) notes.push(`${f} also looks like ${guess === 'email' ? 'an email' : 'a phone'}; map it as a trait or a second stream if it is one`);
  }
  const observedAt = cursor && TIME.test(cursor) ? cursor : fields.find((f) => TIME.test(f) && /updat|modif/i.test(f));
  const used = new Set([...Object.values(identifiers), ...key, ...(observedAt ? [observedAt] : [])]);
  for (const f of fields) if (!used.has(f)) traits[traitName(f)] = f;
  if (!Object.keys(identifiers).length) notes.push('no email- or phone-looking field: map an external_id.<namespace> to the primary key, or the records stay unlinked');
  if (!key.length) notes.push('no primary key reported: set primaryKey to the field(s) that identify a row');
  if (stream.cursorCandidates.length > 1) notes.push(`cursor candidates: ${stream.cursorCandidates.join(', ')}`);
  const incremental = stream.supportedModes.includes('incremental');
  const stanza: Record<string, unknown> = {
    name: stream.name,
    ...(incremental ? {} : { mode: 'full_refresh' }),
    primaryKey: key.length === 1 ? key[0] : key.length ? key : 'TODO',
    ...(incremental && cursor ? { cursor } : {}),
    ...(config && Object.keys(config).length ? { config } : {}),
    mapping: { identifiers, traits, ...(observedAt ? { observedAt } : {}) },
  };
  return { stanza, notes };
}

/** Ready-to-paste `streams:` YAML for a source's discovered streams, with notes as comments. */
export function streamsYaml(inputs: StanzaInput[]): string {
  const built = inputs.map(streamStanza);
  const doc = new Document({ streams: built.map((b) => b.stanza) });
  const seq = doc.get('streams', true);
  if (isSeq(seq)) {
    seq.items.forEach((item, i) => {
      const notes = built[i].notes;
      if (notes.length && isMap(item)) item.commentBefore = notes.map((n) => ` ${n}`).join('\n');
    });
  }
  doc.commentBefore = ' Paste under the source in your config; review the mapping guesses (identifiers by field name) first.';
  return doc.toString({ lineWidth: 0 });
}
