import { readFileSync } from 'node:fs';
import type { LinkRecord } from '../../plugins/resolver-probabilistic/link.js';

/**
 * FEBRL synthetic person data (rec-N-org / rec-N-dup-K): the truth is N.
 * Columns: given_name, surname, street_number, address_1, address_2, suburb,
 * postcode, state, date_of_birth, soc_sec_id. No emails or phones.
 */
export interface FebrlRow {
  recId: string;
  entity: string;
  traits: Record<string, string>;
}

const COLUMNS: Record<string, string> = {
  given_name: 'firstName',
  surname: 'lastName',
  street_number: 'streetNumber',
  address_1: 'address1',
  address_2: 'address2',
  suburb: 'suburb',
  postcode: 'postcode',
  state: 'state',
  date_of_birth: 'dateOfBirth',
  soc_sec_id: 'ssn',
};

/** The files hold no quoted fields or embedded commas, so a split is a faithful parse. */
export function readFebrl(file: string): FebrlRow[] {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).filter((l) => l.trim());
  const header = lines[0].split(',').map((h) => h.trim());
  return lines.slice(1).map((line) => {
    const cells = line.split(',').map((c) => c.trim());
    const recId = cells[0];
    const m = /^rec-(\d+)-/.exec(recId);
    if (!m) throw new Error(`${file}: unexpected rec_id ${recId}`);
    const traits: Record<string, string> = {};
    header.forEach((h, i) => {
      const t = COLUMNS[h];
      if (t && cells[i]) traits[t] = cells[i];
    });
    return { recId, entity: m[1], traits };
  });
}

export function febrlLinkRecords(rows: FebrlRow[]): LinkRecord[] {
  return rows.map((r) => ({ key: r.recId, traits: { ...r.traits, address: [r.traits.streetNumber, r.traits.address1].filter(Boolean).join(' ') } }));
}

export function febrlTruth(rows: FebrlRow[]): Map<string, string> {
  return new Map(rows.map((r) => [r.recId, r.entity]));
}
