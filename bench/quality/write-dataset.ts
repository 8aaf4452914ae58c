import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cell, GeneratedDataset } from './types.js';

/** Column order per file; fixed here so a file reads the same whichever row comes first. */
export const CSV_COLUMNS = {
  crm: ['crm_id', 'first_name', 'last_name', 'email', 'phone', 'country', 'updated_at'],
  orders: ['order_id', 'email', 'amount', 'currency', 'ordered_at'],
  support: ['ticket_id', 'email', 'phone', 'name', 'created_at'],
} as const;

/**
 * RFC 4180 quoting. Cells with leading or trailing spaces are quoted too, so the
 * "  John.Doe@Example.COM " noise survives a reader that trims unquoted fields.
 */
function csvCell(value: Cell | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv<R extends Record<string, Cell>>(rows: readonly R[], columns: readonly string[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvCell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** JSON Lines; a missing value is an absent key, as most event exports write it. */
function toJsonl(rows: ReadonlyArray<Record<string, Cell>>): string {
  return rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)))).join('\n') + '\n';
}

/**
 * Writes crm.csv, orders.csv, support.csv, newsletter.jsonl and truth.csv
 * (`record_key,person_id`) into `dir`, creating it. Returns the paths written.
 */
export async function writeDataset(dir: string, dataset: GeneratedDataset): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const truthRows = [...dataset.truth].map(([record_key, person_id]) => ({ record_key, person_id }));
  const files: Array<[string, string]> = [
    ['crm.csv', toCsv(dataset.rows.crm, CSV_COLUMNS.crm)],
    ['orders.csv', toCsv(dataset.rows.orders, CSV_COLUMNS.orders)],
    ['support.csv', toCsv(dataset.rows.support, CSV_COLUMNS.support)],
    // The newsletter export has no key of its own; `id` is the row number the truth keys use (n0, n1, ...).
    ['newsletter.jsonl', toJsonl(dataset.rows.newsletter.map((r, i) => ({ id: `n${i}`, ...r })))],
    ['truth.csv', toCsv(truthRows, ['record_key', 'person_id'])],
  ];
  const paths: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    await writeFile(path, text, 'utf8');
    paths.push(path);
  }
  return paths;
}
