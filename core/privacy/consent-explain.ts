import type { ConsentExplanation } from '../store/types.js';

const word = (v: boolean) => (v ? 'granted' : 'withdrawn');

/** `profiles explain`: per purpose, the value that stands, where it came from, and the history of statements. */
export function consentLines(consent: ConsentExplanation[]): string[] {
  const out = [`consent (${consent.length} purpose${consent.length === 1 ? '' : 's'}; no statement means no grant):`];
  for (const c of consent) {
    out.push(`  ${c.purpose}: ${word(c.value)}  from ${c.from.source}/${c.from.stream}/${c.from.recordId} observed ${c.from.at}`);
    for (const h of c.history) out.push(`    ${h.at}  ${word(h.value)}  ${h.source}/${h.stream}/${h.recordId}`);
  }
  return out;
}
