import { Metadata, getCountryCallingCode, type CountryCode, type MetadataJson } from 'libphonenumber-js/core';
import minMetadata from 'libphonenumber-js/metadata.min.json';

/**
 * A fast answer for phones that are already E.164 (`+` and digits, perhaps grouped), the form
 * most sources export. libphonenumber-js spends ~9.3 µs on such a number (issue 13): it builds a
 * `new RegExp` from a kilobyte-long pattern on every match (~0.9 µs each, four of them for a
 * US number: the NANP walk that finds the region, then `isValid()` doing the same again),
 * plus its argument objects and several Metadata instances. Here the same patterns, read
 * from the same public metadata file the default entry point uses (`metadata.min.json`), are
 * compiled once per calling code.
 *
 * The answer is one-sided on purpose: `fastE164` returns the value only when it is sure the
 * library would accept the number and give back exactly these digits; in every other case
 * (invalid, a region the library would find by trying the regions that share the code, a
 * digit that could be a national prefix, a non-geographic code, metadata laid out differently from what this file expects) it returns undefined and the
 * caller asks the library. So a rejection and its reason always come from the library.
 */

/** Positions in a minified numbering plan of metadata version 4 (see MetadataJson in the package's types.d.ts). */
const CALLING_CODE = 0;
const NATIONAL_NUMBER_PATTERN = 2;
const POSSIBLE_LENGTHS = 3;
const NATIONAL_PREFIX = 5;
const NATIONAL_PREFIX_FOR_PARSING = 7;
const LEADING_DIGITS = 10;
const TYPES = 11;
/** Shortest and longest national significant number the library parses at all. */
const MIN_NSN = 2;
const MAX_NSN = 17;

type Plan = readonly unknown[];

interface NumberType {
  pattern: RegExp;
  lengths: readonly number[] | undefined;
}

/** What one calling code needs: how to decide that a national number is valid in its main region. */
interface CallingCodeRule {
  /** A national number this matches might lose its first digits as a trunk prefix: leave it to the library. */
  nationalPrefix: RegExp | undefined;
  /** Set when other regions share the code: the main region only owns numbers that start like this. */
  leadingDigits: RegExp | undefined;
  /** Set when other regions share the code and the main one has no leading digits: it owns numbers of one of its types. */
  sharedWithoutLeadingDigits: boolean;
  nationalNumberPattern: RegExp;
  /** The per-type patterns, when the metadata has them for this region; validity is then "is of some type". */
  types: NumberType[] | undefined;
}

const E164 = /^\+[1-9]\d{2,19}$/;
const GROUPED = /^\+\d[\d .()-]*$/;
const GROUPING = /[ .()-]/g;
const rules = new Map<string, CallingCodeRule | null>();
/** The layout check over the metadata the default entry point uses, done once (~1 ms) on the first E.164 number. */
let layoutChecked: boolean | undefined;

function entire(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function lengthsOf(value: unknown): readonly number[] | undefined {
  return Array.isArray(value) ? (value as number[]) : undefined;
}

/** What the documented accessors say about one region: the figures the layout check compares with its own reading. */
export interface DocumentedPlan {
  callingCode: string;
  possibleLengths: readonly number[] | undefined;
  leadingDigits: string | undefined;
}

function documentedReader(metadata: MetadataJson): (country: CountryCode) => DocumentedPlan | undefined {
  const documented = new Metadata(metadata);
  return (country) => {
    documented.selectNumberingPlan(country);
    const np = documented.numberingPlan;
    if (!np) return undefined;
    return { callingCode: getCountryCallingCode(country, metadata), possibleLengths: np.possibleLengths(), leadingDigits: np.leadingDigits() };
  };
}

/**
 * The positions above are not part of the documented API, so before trusting them they are
 * compared, for every region, with what the documented accessors (`Metadata`'s
 * `possibleLengths()` and `leadingDigits()`, `getCountryCallingCode()`) say. Today both read
 * the same places; after a library upgrade that moves fields the accessors follow and this
 * file does not, the two disagree, and the fast path turns itself off. `read` is there so a
 * test can stand in for such an upgrade.
 */
export function layoutMatches(metadata: MetadataJson, read = documentedReader(metadata)): boolean {
  if (metadata.version !== 4) return false;
  for (const [country, plan] of Object.entries(metadata.countries) as [CountryCode, Plan][]) {
    const doc = read(country);
    if (!doc || doc.callingCode !== plan[CALLING_CODE]) return false;
    if (JSON.stringify(doc.possibleLengths) !== JSON.stringify(plan[POSSIBLE_LENGTHS])) return false;
    if ((doc.leadingDigits || undefined) !== (plan[LEADING_DIGITS] || undefined)) return false;
    if (typeof plan[NATIONAL_NUMBER_PATTERN] !== 'string') return false;
  }
  return true;
}

function compileRule(callingCode: string): CallingCodeRule | null {
  const regions = (minMetadata.country_calling_codes as Record<string, string[] | undefined>)[callingCode];
  if (!regions || regions.length === 0) return null;
  const main = (minMetadata.countries as Record<string, Plan | undefined>)[regions[0]];
  // Non-geographic codes (+800, +882...) are listed under the pseudo-region 001 and have no plan here.
  if (!main) return null;
  const planLengths = lengthsOf(main[POSSIBLE_LENGTHS]);
  const rawTypes = main[TYPES];
  let types: NumberType[] | undefined;
  if (Array.isArray(rawTypes) && rawTypes.length > 0) {
    types = [];
    for (const t of rawTypes as unknown[]) {
      // An absent type is 0; a type with an empty pattern matches nothing.
      if (!Array.isArray(t) || typeof t[0] !== 'string' || t[0] === '') continue;
      types.push({ pattern: entire(t[0]), lengths: lengthsOf(t[1]) ?? planLengths });
    }
  }
  const prefix = (main[NATIONAL_PREFIX_FOR_PARSING] || main[NATIONAL_PREFIX]) as string | undefined;
  const shared = regions.length > 1;
  const leading = main[LEADING_DIGITS] as string | undefined;
  return {
    nationalPrefix: prefix ? new RegExp(`^(?:${prefix})`) : undefined,
    leadingDigits: shared && leading ? new RegExp(`^(?:${leading})`) : undefined,
    sharedWithoutLeadingDigits: shared && !leading,
    nationalNumberPattern: entire(main[NATIONAL_NUMBER_PATTERN] as string),
    types,
  };
}

function ruleFor(callingCode: string): CallingCodeRule | null {
  let rule = rules.get(callingCode);
  if (rule === undefined) {
    rule = compileRule(callingCode);
    rules.set(callingCode, rule);
  }
  return rule;
}

function isOfSomeType(nsn: string, types: NumberType[]): boolean {
  for (const t of types) {
    if (t.lengths && !t.lengths.includes(nsn.length)) continue;
    if (t.pattern.test(nsn)) return true;
  }
  return false;
}

function isCallingCode(digits: string): boolean {
  return Object.hasOwn(minMetadata.country_calling_codes, digits);
}

/**
 * The E.164 form of `text` when it is a `+` number, bare or grouped with spaces, dots, hyphens
 * and parentheses (`+1 (415) 555-2671`), that libphonenumber-js would parse into a valid
 * number with just those marks removed; undefined when the library must decide. Slashes,
 * letters, `#`, `;` and other marks can start an extension or a second number, so they are
 * the library's. No default region is taken: for a number written with `+` the library uses
 * the region only to tell that it is international (and drops one it does not know), so the
 * answer is the same in every region.
 */
export function fastE164(text: string): string | undefined {
  if (!E164.test(text)) {
    if (!GROUPED.test(text)) return undefined;
    text = text.replace(GROUPING, '');
    if (!E164.test(text)) return undefined;
  }
  layoutChecked ??= layoutMatches(minMetadata);
  if (!layoutChecked) return undefined;
  // Calling codes are prefix-free (ITU E.164): the first 1-, 2- or 3-digit prefix that is one is the one.
  let callingCode: string | undefined;
  for (let n = 1; n <= 3; n++) {
    if (isCallingCode(text.slice(1, 1 + n))) {
      callingCode = text.slice(1, 1 + n);
      break;
    }
  }
  if (!callingCode) return undefined;
  const nsn = text.slice(1 + callingCode.length);
  if (nsn.length < MIN_NSN || nsn.length > MAX_NSN) return undefined;
  const rule = ruleFor(callingCode);
  if (!rule) return undefined;
  if (rule.nationalPrefix?.test(nsn)) return undefined;
  if (rule.leadingDigits && !rule.leadingDigits.test(nsn)) return undefined;
  if (!rule.nationalNumberPattern.test(nsn)) return undefined;
  if (rule.types) {
    if (!isOfSomeType(nsn, rule.types)) return undefined;
  } else if (rule.sharedWithoutLeadingDigits) {
    // The library would try each sharing region by type; without types there is nothing to try here.
    return undefined;
  }
  return text;
}
