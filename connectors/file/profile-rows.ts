import type { ProfileDocument } from '../../core/plugin/types.js';

/**
 * The flat CSV layout of a profile: the fields most tools want as columns,
 * then the full nested parts as JSON so nothing is lost.
 */
export const CSV_COLUMNS = [
  'id',
  'email',
  'phone',
  'firstName',
  'lastName',
  'createdAt',
  'updatedAt',
  'identifiers_json',
  'traits_json',
  'computed_json',
  'records_json',
  'aliases_json',
] as const;

/** RFC 4180 quoting: only when needed (delimiter, quote, line break, or edge whitespace that tools trim). */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\n`;

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

function identifier(p: ProfileDocument, type: string): string {
  return p.identifiers.find((i) => i.type === type)?.value ?? '';
}

/** One CSV line (with its newline). email and phone: the trait, else the first identifier of that type. */
export function csvLine(p: ProfileDocument): string {
  const t = p.traits ?? {};
  const cells = [
    p.id,
    text(t.email) || identifier(p, 'email'),
    text(t.phone) || identifier(p, 'phone'),
    text(t.firstName),
    text(t.lastName),
    p.createdAt,
    p.updatedAt,
    JSON.stringify(p.identifiers),
    JSON.stringify(t),
    JSON.stringify(p.computed ?? {}),
    JSON.stringify(p.records),
    JSON.stringify(p.aliases ?? []),
  ];
  return `${cells.map(csvField).join(',')}\n`;
}

/** One JSON line: the ProfileDocument as it is. */
export function jsonlLine(p: ProfileDocument): string {
  return `${JSON.stringify(p)}\n`;
}
