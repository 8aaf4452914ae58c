import { ConfigError } from '../errors.js';
import { identifierKey } from '../schema/canonical.js';
import { normalizeEmail, normalizePhone } from '../schema/normalize.js';
import type { ProfileStore } from '../store/types.js';
import type { ForgetResult } from './forget-types.js';

/** Who a privacy command is about, as typed on the command line. */
export interface SubjectQuery {
  email?: string;
  phone?: string;
  /** `namespace:value`, or a bare value for an external id without a namespace. */
  externalId?: string;
  profile?: string;
}

/**
 * The identifier keys a query names, normalized the way the engine normalizes
 * records (so `Ada@Example.COM ` and `06 12 34 56 78` match what a sync stores).
 * A value that does not normalize is an error naming the option.
 */
export function subjectKeys(q: SubjectQuery, defaultRegion: string): string[] {
  const keys: string[] = [];
  if (q.email !== undefined) {
    const e = normalizeEmail(q.email);
    if (!e.ok) throw new ConfigError(`--email: not an email address (${e.reason})`);
    keys.push(identifierKey({ type: 'email', value: e.value }));
  }
  if (q.phone !== undefined) {
    const p = normalizePhone(q.phone, defaultRegion);
    if (!p.ok) throw new ConfigError(`--phone: not a phone number (${p.reason}); give it in international form (+33...) or set normalize.defaultRegion`);
    keys.push(identifierKey({ type: 'phone', value: p.value }));
  }
  if (q.externalId !== undefined) {
    const v = q.externalId.trim();
    const colon = v.indexOf(':');
    if (!v || colon === v.length - 1) throw new ConfigError('--external-id: expected namespace:value (crm:CRM-1) or a value');
    keys.push(colon > 0 ? identifierKey({ type: 'external_id', namespace: v.slice(0, colon), value: v.slice(colon + 1) }) : identifierKey({ type: 'external_id', value: v }));
  }
  return keys;
}

export type ForgetPlan =
  | { kind: 'ambiguous'; profiles: string[] }
  | { kind: 'unknown-profile'; profile: string }
  | { kind: 'ready'; profileIds: string[]; suppressKeys: string[] };

/**
 * Which profiles a forget deletes. An identifier held by several profiles (one
 * owns it, others presented it and were refused a merge) is not decided here:
 * the caller lists them and asks for `--all` or `--profile`.
 */
export async function planForget(store: ProfileStore, q: SubjectQuery, opts: { all?: boolean; defaultRegion: string }): Promise<ForgetPlan> {
  const keys = subjectKeys(q, opts.defaultRegion);
  if (q.profile !== undefined) {
    const id = await store.resolveProfileId(q.profile);
    if (!id) return { kind: 'unknown-profile', profile: q.profile };
    return { kind: 'ready', profileIds: [id], suppressKeys: keys };
  }
  if (!keys.length) throw new ConfigError('say who: --email, --phone, --external-id or --profile');
  const holding = await store.privacy.profilesHolding(keys);
  if (holding.length > 1 && !opts.all) return { kind: 'ambiguous', profiles: holding };
  return { kind: 'ready', profileIds: holding, suppressKeys: keys };
}

/** Delete what the plan names and suppress its identifiers; `suppressOnly` keeps the data and only stops collecting. */
export async function runForget(
  store: ProfileStore,
  plan: Extract<ForgetPlan, { kind: 'ready' }>,
  opts: { reason?: string; suppressOnly?: boolean },
): Promise<ForgetResult> {
  if (opts.suppressOnly) {
    // Suppress-only keeps the profile: its own identifiers are suppressed along with the ones typed.
    const states = await store.getProfiles(plan.profileIds);
    const keys = new Set(plan.suppressKeys);
    for (const s of states.values()) for (const k of s.identifiers) keys.add(k);
    return store.privacy.forget({ kind: 'suppress-only', profileIds: [], suppressKeys: [...keys], reason: opts.reason });
  }
  return store.privacy.forget({ kind: 'forget', profileIds: plan.profileIds, suppressKeys: plan.suppressKeys, reason: opts.reason });
}
