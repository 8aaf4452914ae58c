import { describe, expect, it } from 'vitest';
import { getCountries, getCountryCallingCode, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import examples from 'libphonenumber-js/examples.mobile.json';
import minMetadata from 'libphonenumber-js/metadata.min.json';
import { createRng } from '../../bench/quality/prng.js';
import { fastE164, layoutMatches } from './phone.js';
import { normalizePhone, parsePhone, type Normalized } from './normalize.js';

// The reference: today's library-only path (parsePhone) behind normalizePhone's own checks,
// without the fast path and without the memo. The new function must agree with it.
function refNormalizePhone(input: unknown, region?: string): Normalized<string> {
  if (input === null || input === undefined) return { ok: false, reason: 'empty' };
  const raw = String(input).trim();
  if (!raw) return { ok: false, reason: 'empty' };
  if (raw.length > 64) return { ok: false, reason: 'longer than 64 characters' };
  const c = region ? region.trim().toUpperCase() : '';
  return parsePhone(raw, c ? (c as CountryCode) : undefined);
}

// ---------------------------------------------------------------------------------------
// Inputs. A seeded generator so a failure names an input that can be replayed.
// ---------------------------------------------------------------------------------------
const { next: rand, int, pick } = createRng(13);
const digits = (n: number): string => Array.from({ length: n }, () => String(int(0, 9))).join('');

const COUNTRIES = getCountries();
const REGIONS = ['US', 'FR', 'GB', 'DE', 'CA', 'RU', 'KZ', 'IT', 'AU', 'NO', 'FI', 'MA', 'JM', 'PR', '', 'us', ' gb ', 'ZZ', 'UK', '001'];
// Area codes of several NANP regions, plus ones no region owns.
const NANP_AREAS = ['415', '212', '202', '416', '604', '514', '787', '876', '242', '268', '671', '684', '809', '345', '441', '800', '888', '900', '555', '311', '123', '999'];
const PUNCT = [' ', '-', '.', '(', ')', '/'];

/** A valid-looking national number of each region (the library's public example set), mutated. */
function exampleNsn(country: CountryCode): string | undefined {
  return (examples as Record<string, string | undefined>)[country];
}

function mutate(nsn: string): string {
  switch (int(0, 6)) {
    case 0: return nsn;
    case 1: return nsn.slice(0, -1) + String(int(0, 9));
    case 2: return nsn + String(int(0, 9));
    case 3: return nsn.slice(0, -1);
    case 4: return `${int(0, 1)}${nsn}`; // a digit that could be a trunk prefix
    case 5: return nsn.slice(0, 3) + digits(Math.max(0, nsn.length - 3));
    default: return digits(int(1, 18));
  }
}

function formatted(s: string): string {
  let out = '';
  for (const ch of s) out += ch + (rand() < 0.25 ? pick(PUNCT) : '');
  return out;
}

function generate(n: number): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  const region = (): string | undefined => (rand() < 0.15 ? undefined : pick(REGIONS));
  for (let i = 0; i < n; i++) {
    const kind = int(0, 13);
    const c = pick(COUNTRIES);
    const cc = getCountryCallingCode(c);
    const nsn = exampleNsn(c) ?? digits(int(4, 12));
    switch (kind) {
      case 0: case 1: case 2: // E.164 of every region, valid or nearly
        out.push([`+${cc}${mutate(nsn)}`, region()]);
        break;
      case 3: case 4: // +1 of many NANP regions
        out.push([`+1${pick(NANP_AREAS)}${int(0, 9)}${digits(6 + int(-1, 1))}`, region()]);
        break;
      case 5: // 00 form, sometimes formatted
        out.push([rand() < 0.5 ? `00${cc}${mutate(nsn)}` : `00${cc} ${formatted(nsn)}`, region()]);
        break;
      case 6: // national forms read in their region or another
        out.push([formatted(`0${mutate(nsn)}`), rand() < 0.7 ? c : region()]);
        break;
      case 7: // international with punctuation, or an extension
        out.push([pick([`+${cc} ${formatted(nsn)}`, `+${cc}${nsn} ext ${digits(int(1, 5))}`, `+${cc}${nsn};ext=${digits(int(1, 4))}`, `+${cc}${nsn} x${digits(2)}`, `+${cc}${nsn}#${digits(2)}`]), region()]);
        break;
      case 8: // random digits, with or without +
        out.push([`${pick(['', '+', '00', '+0', '+1'])}${digits(int(0, 21))}`, region()]);
        break;
      case 9: // letters, odd characters, vanity numbers
        out.push([pick([`+1 800 FLOWERS`, `+${cc}${nsn}a`, `tel:+${cc}${nsn}`, `+${cc}\u00a0${nsn}`, `+${cc}${nsn}\ufffd`, `+\u0661\u0662${nsn}`, `+${cc}-${nsn}-`, `++${cc}${nsn}`, `+`, ` +${cc}${nsn} `]), region()]);
        break;
      case 10: // non-geographic and unassigned calling codes
        out.push([`+${pick(['800', '808', '870', '878', '881', '882', '883', '888', '979', '999', '42', '210', '0'])}${digits(int(4, 12))}`, region()]);
        break;
      case 12: case 13: // international, grouped the many ways people write it
        out.push([pick([
          `+${cc} ${formatted(mutate(nsn))}`,
          `+${cc} (0)${formatted(nsn)}`,
          `+${cc}-${nsn.slice(0, 3)}-${nsn.slice(3)}`,
          `+${cc} ${nsn.slice(0, 2)}  ${nsn.slice(2)}`,
          `+${cc}.${nsn.slice(0, 3)}.${nsn.slice(3)}`,
          `+${cc} ${formatted(nsn)}-`,
          `+${cc} ${formatted(nsn)})`,
          `+${cc} ${nsn.slice(0, 3)} - ${nsn.slice(3)}`,
          `+${cc} ${nsn} - ${digits(int(1, 4))}`,
          `+${cc} ${nsn.slice(0, 4)}/${nsn.slice(4)}`,
          `+(${cc}) ${nsn}`,
          `+1 (${pick(NANP_AREAS)}) ${int(2, 9)}${digits(2)}-${digits(4)}`,
        ]), region()]);
        break;
      default: // US national numbers, area code or not
        out.push([formatted(`${pick(['', '1'])}${pick(NANP_AREAS)}${digits(int(4, 8))}`), pick(['US', 'CA', undefined])]);
    }
  }
  return out;
}

describe('phones: the E.164 fast path (issue 13)', () => {
  const inputs = generate(30_000);

  it('gives the same value or the same reason as the library-only function, on 30,000 varied inputs', () => {
    let fast = 0;
    const diffs: string[] = [];
    for (const [text, region] of inputs) {
      const want = refNormalizePhone(text, region);
      const got = normalizePhone(text, region);
      if (JSON.stringify(got) !== JSON.stringify(want)) diffs.push(`${JSON.stringify([text, region])}: ${JSON.stringify(got)} != ${JSON.stringify(want)}`);
      if (fastE164(text.trim().startsWith('00') ? `+${text.trim().slice(2)}` : text.trim()) !== undefined) fast++;
    }
    expect(diffs.slice(0, 10)).toEqual([]);
    // The comparison means something only if the fast path answered a good share of it.
    expect(fast).toBeGreaterThan(3000);
  });

  it('answers only for numbers the library accepts as those digits, without an extension', () => {
    for (const [raw, region] of inputs) {
      const text = raw.trim();
      const country = region ? region.trim().toUpperCase() : '';
      const fast = fastE164(text);
      if (fast === undefined) continue;
      expect(fast).toBe(`+${text.replace(/\D/g, '')}`);
      const parsed = parsePhoneNumberFromString(text, country ? (country as CountryCode) : undefined);
      expect({ text, valid: parsed?.isValid(), number: parsed?.number, ext: parsed?.ext }).toEqual({ text, valid: true, number: fast, ext: undefined });
    }
  });

  it('answers for plain valid numbers of single-region codes, shared codes and regions found by leading digits', () => {
    expect(fastE164('+14155552671')).toBe('+14155552671');
    expect(fastE164('+33612345678')).toBe('+33612345678');
    expect(fastE164('+447400123456')).toBe('+447400123456');
    expect(fastE164('+79123456789')).toBe('+79123456789');
    expect(fastE164('+1 (415) 555-2671')).toBe('+14155552671');
    expect(fastE164('+33 6.12.34.56.78')).toBe('+33612345678');
  });

  it('leaves to the library: invalid numbers, regions found by trying the sharing ones, trunk-prefix digits, non-geographic codes, any formatting', () => {
    expect(fastE164('+19995552671')).toBeUndefined(); // no US area code 999
    expect(fastE164('+14165552671')).toBeUndefined(); // Toronto: the library tries each NANP region and finds CA
    expect(fastE164('+447911123456')).toBeUndefined(); // 7911 1 is Guernsey's, found the same way
    expect(fastE164('+77012345678')).toBeUndefined(); // +7 7: not Russia's leading digits, so KZ by trying
    // A national part that starts with the trunk prefix may lose it in the library (8 in Russia,
    // 1 in the NANP): the library decides, even where it ends up keeping the digit.
    expect(fastE164('+78123456789')).toBeUndefined();
    expect(fastE164('+114155552671')).toBeUndefined();
    expect(fastE164('+80012345678')).toBeUndefined();
    expect(fastE164('+1 415/555 2671')).toBeUndefined();
    expect(fastE164('+44 (0)20 7946 0958')).toBeUndefined(); // the (0) is a trunk prefix the library drops
    expect(fastE164('+14155552671;ext=2')).toBeUndefined();
    expect(fastE164('+0123456789')).toBeUndefined();
  });

  it('trusts the positions it reads in the metadata only when the documented accessors agree with them', () => {
    expect(layoutMatches(minMetadata)).toBe(true);
    expect(layoutMatches({ ...minMetadata, version: 5 })).toBe(false);
    // Stand-ins for a library whose accessors read the fields somewhere else than this file does.
    const plans = minMetadata.countries as Record<string, unknown[]>;
    const honest = (c: string) => ({ callingCode: plans[c][0] as string, possibleLengths: plans[c][3] as number[], leadingDigits: (plans[c][10] || undefined) as string | undefined });
    expect(layoutMatches(minMetadata, honest)).toBe(true);
    expect(layoutMatches(minMetadata, (c) => ({ ...honest(c), possibleLengths: plans[c][4] as number[] }))).toBe(false);
    expect(layoutMatches(minMetadata, (c) => ({ ...honest(c), leadingDigits: (plans[c][9] || undefined) as string | undefined }))).toBe(false);
    expect(layoutMatches(minMetadata, (c) => ({ ...honest(c), callingCode: plans[c][1] as string }))).toBe(false);
  });
});
