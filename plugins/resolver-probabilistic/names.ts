import { addEvidence, compareEvidence, familyName, givenName, type NameEvidence } from '../../core/resolution/name-guard.js';
import type { ProbabilisticConfig } from './config.js';

/** The given and family name one record carries, as the guard compares them (folded). */
export function recordNames(traits: Record<string, unknown>, guard: ProbabilisticConfig['nameGuard']): NameEvidence | undefined {
  if (guard === false) return undefined;
  const given = givenName(traits, guard.traits);
  const family = familyName(traits, guard.traits, guard.familyTraits);
  if (!given && !family) return undefined;
  const e: NameEvidence = { given: {}, family: {} };
  addEvidence(e, { given, family });
  return e;
}

/**
 * One evidence per starting group (profile): on the group's first node, the
 * profile's own names when it has them (all its records, stored or not), else
 * the names of the group's nodes summed. Other nodes of the group get none.
 */
export function groupNames(
  nodes: Array<{ group: string; traits: Record<string, unknown> }>,
  guard: ProbabilisticConfig['nameGuard'],
  profileNames: (group: string) => NameEvidence | undefined,
): Array<NameEvidence | undefined> {
  if (guard === false) return nodes.map(() => undefined);
  const first = new Map<string, number>();
  const out: Array<NameEvidence | undefined> = nodes.map(() => undefined);
  nodes.forEach((n, i) => {
    const at = first.get(n.group);
    if (at === undefined) {
      first.set(n.group, i);
      const own = profileNames(n.group);
      out[i] = own ? { given: { ...own.given }, family: { ...own.family } } : recordNames(n.traits, guard);
      if (own) first.set(n.group, -1);
      return;
    }
    if (at < 0) return;
    const e = recordNames(n.traits, guard);
    if (!e) return;
    if (!out[at]) out[at] = e;
    else addEvidence(out[at]!, e);
  });
  return out;
}

/**
 * Do two records name two different people? Checked per link before clustering:
 * a cluster's summed names can blur (a record with swapped names puts the family
 * name among the given ones), the two records of one link cannot.
 */
export function namesConflict(a: NameEvidence | undefined, b: NameEvidence | undefined, familyMustAgree = true): boolean {
  if (!a || !b || !Object.keys(a.given).length || !Object.keys(b.given).length) return false;
  if (!compareEvidence(a, b).ok) return true;
  // Both records swapped alike ("Dubois Chloé", "Dubois Julie") meet on the family name read as given:
  // the family names, compared the same way (typos, swaps), must agree too when both are there.
  if (!familyMustAgree || !Object.keys(a.family).length || !Object.keys(b.family).length) return false;
  return !compareEvidence({ given: a.family, family: a.given }, { given: b.family, family: b.given }).ok;
}
