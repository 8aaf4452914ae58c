/**
 * Identifier keys in PostgreSQL. A key is `type\u0000value` (canonical.ts), and
 * PostgreSQL text cannot hold a NUL character ("invalid byte sequence for
 * encoding UTF8: 0x00"), so the key columns (identifiers.key,
 * presented.identifier_key, merges.identifier_key, refused.identifier_key)
 * store it escaped: NUL as \u0001 '0', and \u0001 itself as \u0001 '1'. Every
 * \u0001 stored starts an escape, so decoding is exact for any value. Bodies
 * are JSON text, where JSON.stringify already writes NUL as the six characters `\u0000`.
 */
const ESCAPED = /[\u0000\u0001]/g;
const STORED = /\u0001([01])/g;

export function toPgKey(key: string): string {
  return key.replace(ESCAPED, (c) => (c === '\u0000' ? '\u00010' : '\u00011'));
}

export function fromPgKey(stored: string): string {
  return stored.replace(STORED, (_, d: string) => (d === '0' ? '\u0000' : '\u0001'));
}

export function toPgKeys(keys: readonly string[]): string[] {
  return keys.map(toPgKey);
}
