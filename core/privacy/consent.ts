import type { TributaryConfig } from '../config/schema.js';
import { didYouMean } from '../config/load.js';

/**
 * Consent per purpose (issue 12). A record states consent through
 * `mapping.consent` (purpose -> field); every statement is kept (see
 * core/store/sqlite-consent.ts) and a profile's consent for a purpose is the
 * most recent statement of any of its records. Ties (same observedAt) favour
 * the withdrawal. Because that rule is a total order on statements, the value
 * is the same whatever order the statements arrive in, and a merge (which
 * combines the two sides' current statements) gives what recomputing from all
 * statements of both would: a merge alone never turns a withdrawal into a grant.
 */

/** Purposes every config may use; others are declared in `privacy.purposes`. */
export const BUILT_IN_PURPOSES = ['email_marketing', 'sms_marketing', 'advertising', 'analytics'] as const;

/** One consent statement, as survivorship holds the current one per purpose. */
export interface ConsentCell {
  /** true: granted, false: withdrawn. */
  v: unknown;
  /** observedAt of the record that stated it (ISO-8601 UTC). */
  at: string;
  /** recordKey of that record. */
  src: string;
}

/**
 * Which of two statements of one purpose stands: the later one; at the same
 * time a withdrawal beats a grant; two equal statements at the same time are
 * ordered by record key so the choice never depends on arrival order.
 */
export function latestConsent<T extends ConsentCell>(a: T | undefined, b: T): T {
  if (!a) return b;
  if (a.at !== b.at) return b.at > a.at ? b : a;
  const wa = a.v === false;
  const wb = b.v === false;
  if (wa !== wb) return wa ? a : b;
  return b.src < a.src ? b : a;
}

/** Does the profile (its `traits.consent`) hold a grant for `purpose`? No statement is no grant. */
export function hasGrant(traits: Record<string, unknown>, purpose: string): boolean {
  const c = traits.consent;
  return !!c && typeof c === 'object' && (c as Record<string, unknown>)[purpose] === true;
}

export function knownPurposes(config: Pick<TributaryConfig, 'privacy'>): Set<string> {
  return new Set<string>([...BUILT_IN_PURPOSES, ...(config.privacy?.purposes ?? [])]);
}

/**
 * Load-time check: a purpose in a mapping or on a destination that is neither
 * built in nor declared is a typo (`email_marketting`) that would silently
 * send nothing, or collect consent nobody reads.
 */
export function checkPurposes(config: TributaryConfig, fail: (path: Array<string | number>, message: string) => never): void {
  const known = knownPurposes(config);
  const unknown = (p: string) => {
    const hint = didYouMean(p, [...known]);
    return `unknown consent purpose "${p}"${hint ? `; did you mean "${hint}"?` : ''} (known: ${[...known].sort().join(', ')}; declare others in privacy.purposes)`;
  };
  config.sources.forEach((s, i) =>
    s.streams.forEach((st, j) => {
      for (const p of Object.keys(st.mapping.consent ?? {})) {
        if (!known.has(p)) fail(['sources', i, 'streams', j, 'mapping', 'consent', p], unknown(p));
      }
    }),
  );
  config.destinations.forEach((d, i) => {
    if (d.purpose !== undefined && !known.has(d.purpose)) fail(['destinations', i, 'purpose'], unknown(d.purpose));
  });
}

/**
 * The `delivered.hash` of a profile a destination withdrew by marking it (Brevo
 * blocklist, webhook event): it is not withdrawn again every run, and any
 * payload differs from it, so a new grant sends the profile again.
 */
export const WITHDRAWN_HASH = 'withdrawn';
