import type { Country } from './world.js';

/** The four made-up systems a customer shows up in, each keyed differently. */
export type SourceName = 'crm' | 'orders' | 'support' | 'newsletter';

export const SOURCES: readonly SourceName[] = ['crm', 'orders', 'support', 'newsletter'];

/** Stream names used in record keys (`source/stream/recordId`) unless the caller picks others. */
export const DEFAULT_STREAMS: Readonly<Record<SourceName, string>> = {
  crm: 'customers',
  orders: 'orders',
  support: 'tickets',
  newsletter: 'subscribers',
};

// Rows are `type` aliases, not interfaces, so they stay assignable to Record<string, Cell> for the CSV writer.
export type Cell = string | number | boolean | null;

export type CrmRow = {
  crm_id: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  phone: string | null;
  /** ISO 3166 alpha-2, the region national phone numbers are read in. */
  country: string | null;
  /** `YYYY-MM-DD HH:MM:SS`, UTC, as SQL-backed CRMs export it. */
  updated_at: string;
};

export type OrderRow = {
  order_id: string;
  email: string | null;
  amount: number;
  currency: string;
  /** ISO-8601 UTC. */
  ordered_at: string;
};

export type SupportRow = {
  ticket_id: string;
  email: string | null;
  /** No country column: national numbers here cannot be read without guessing a region. */
  phone: string | null;
  name: string | null;
  created_at: string;
};

export type NewsletterRow = {
  email: string | null;
  first_name: string | null;
  subscribed_at: string;
  consent_marketing: boolean | null;
};

export interface SourceRows {
  crm: CrmRow[];
  orders: OrderRow[];
  support: SupportRow[];
  newsletter: NewsletterRow[];
}

export type TrapKind = 'placeholder-email' | 'placeholder-phone' | 'household-phone' | 'shared-mailbox';

export interface TrapPhone {
  value: string;
  /** Region to read `value` in; absent when it is written internationally. */
  region?: string;
}

export interface GeneratedPerson {
  personId: string;
  country: Country;
  firstName: string;
  lastName: string;
  /** Clean addresses, personal first; a second one is a work address. */
  emails: string[];
  /** E.164. */
  mobile?: string;
  householdId?: string;
  /** E.164, shared with the rest of the household. */
  landline?: string;
}

export interface DatasetStats {
  people: number;
  rows: Record<SourceName, number>;
  records: number;
  /** How many people appear in exactly 1, 2, 3, 4 sources (index 0 = one source). */
  peopleBySourceCount: [number, number, number, number];
  peopleWithTwoEmails: number;
  households: number;
  peopleInHouseholds: number;
  sharedMailboxes: number;
  /** People with two CRM rows (a duplicate customer entry). */
  crmDuplicates: number;
  /** Records carrying at least one trap value. */
  trapRecords: number;
  trapRecordsByKind: Record<TrapKind, number>;
}

export interface GeneratedDataset {
  seed: number;
  streams: Record<SourceName, string>;
  rows: SourceRows;
  /** Parallel to `rows`: `keys.crm[i]` is the record key (`source/stream/recordId`) of `rows.crm[i]`. */
  keys: Record<SourceName, string[]>;
  /** record key -> person id, for every row. */
  truth: Map<string, string>;
  people: GeneratedPerson[];
  traps: {
    /** Trap addresses as written before noise (placeholders, shared mailboxes). */
    emails: string[];
    phones: TrapPhone[];
    /** record key -> which traps the record carries. */
    records: Map<string, TrapKind[]>;
  };
  stats: DatasetStats;
}
