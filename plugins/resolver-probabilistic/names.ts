import { addEvidence, compareEvidence, compareGiven, editDistance, familyName, foldCode, givenName, traitAt, type NameEvidence, type NameLevel } from '../../core/resolution/name-guard.js';
import type { ProbabilisticConfig } from './config.js';

/** The traits the configuration compares as dates (`kind: date`): the dates of birth the per-link guard reads. */
export const dateTraits = (cfg: ProbabilisticConfig): string[] => cfg.comparisons.filter((c) => c.kind === 'date').map((c) => c.trait);

/**
 * The given and family name one record carries, as the guard compares them (folded),
 * and its date of birth (the first of `dates` it carries, digits and letters only).
 */
export function recordNames(traits: Record<string, unknown>, guard: ProbabilisticConfig['nameGuard'], dates: readonly string[] = []): NameEvidence | undefined {
  if (guard === false) return undefined;
  const given = givenName(traits, guard.traits);
  const family = familyName(traits, guard.traits, guard.familyTraits);
  if (!given && !family) return undefined;
  const e: NameEvidence = { given: {}, family: {} };
  const dob = dates.map((d) => foldCode(traitAt(traits, d))).find((v) => v !== undefined);
  addEvidence(e, { given, family, dob });
  return e;
}

/** The core's name levels, best first. */
const LEVELS: readonly NameLevel[] = ['exact', 'alias', 'strong', 'close', 'differ'];

/** recordNames as batch linkage and the resolver call it: the guard's names and the configuration's date traits. */
export function namesReader(cfg: ProbabilisticConfig): (traits: Record<string, unknown>) => NameEvidence | undefined {
  const dates = dateTraits(cfg);
  return (traits) => recordNames(traits, cfg.nameGuard, dates);
}

/**
 * Two records' dates of birth that cannot be one date mistyped: both present and more than
 * two edits apart (a wrong digit, two swapped digits or a day/month slip stay within two).
 */
function datesDiffer(a: NameEvidence, b: NameEvidence): boolean {
  const [x] = Object.keys(a.dob ?? {});
  const [y] = Object.keys(b.dob ?? {});
  return x !== undefined && y !== undefined && editDistance(x, y, 2) > 2;
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
  if (givenConflict(a, b)) return true;
  // Both records swapped alike ("Dubois Chloé", "Dubois Julie") meet on the family name read as given:
  // the family names, compared the same way (typos, swaps), must agree too when both are there.
  if (!familyMustAgree || !Object.keys(a.family).length || !Object.keys(b.family).length) return false;
  return !compareEvidence({ given: a.family, family: a.given }, { given: b.family, family: b.given }).ok;
}

/**
 * One name plus a letter or two (Julie / Julien, Louis / Louise, Paul / Paula): the
 * core guard reads it as a short form, but it is mostly the feminine and masculine
 * form of one name, twins and siblings included.
 */
function genderedForm(a: string, b: string): boolean {
  const [s, l] = a.length <= b.length ? [a, b] : [b, a];
  return s.length >= 3 && l.length - s.length <= 2 && l.length > s.length && l.startsWith(s);
}

/**
 * Given names that cannot be one person's, for a link that no identifier backs.
 * Stricter than the core guard, which decides merges through a shared email or
 * phone: with nothing but the traits behind a link, names two edits apart (the
 * core's "close": Marie / Mathieu, Charlie / Arhie) or a gendered form are two
 * names; one typo (Anna / Annx), a nickname, an initial or a swap is one.
 * A match no better than a nickname or a typo (the core's "alias" or "close": Hannah /
 * Anna, a swapped "Schwarz Leno" / Lena) between two different dates of birth is two
 * people: at a household's address everything else the model weighs is shared, and one
 * person's record rarely carries a changed name and a wrong date at once.
 */
export function givenConflict(a: NameEvidence, b: NameEvidence): boolean {
  const c = compareEvidence(a, b);
  if (!c.ok) return true;
  // Through a swap the given names sit in the family slot: the weaker of the two slots is the given-name match.
  const level = c.swappedLevel && LEVELS.indexOf(c.swappedLevel) > LEVELS.indexOf(c.level as NameLevel) ? c.swappedLevel : c.level;
  if ((level === 'alias' || level === 'close') && datesDiffer(a, b)) return true;
  if (c.level === 'close') return !c.pair || editDistance(c.pair[0], c.pair[1], 1) > 1;
  return c.level === 'alias' && !!c.pair && compareGiven(c.pair[0], c.pair[1]) === 'alias' && genderedForm(c.pair[0], c.pair[1]);
}

/**
 * Why the guard refuses a link between two records, or undefined when it allows it:
 * `no-given` when `requireGivenName` is on and a record has no given name (at a
 * household's address it could be anyone there), `names` when the two records name
 * two people (namesConflict).
 */
export function linkRefusal(a: NameEvidence | undefined, b: NameEvidence | undefined, guard: ProbabilisticConfig['nameGuard']): 'names' | 'no-given' | undefined {
  if (guard === false) return undefined;
  const hasGiven = (e?: NameEvidence) => !!e && Object.keys(e.given).length > 0;
  if (guard.requireGivenName && (!hasGiven(a) || !hasGiven(b))) return 'no-given';
  return namesConflict(a, b, guard.familyMustAgree) ? 'names' : undefined;
}
