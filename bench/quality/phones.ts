import type { Rng } from './prng.js';
import type { Country } from './world.js';

/**
 * A phone as the generator knows it: country plus national significant number.
 * Keeping the structure (not a formatted string) lets the generator write the same
 * number in the many ways people type it, while truth knows they are one number.
 */
export interface Phone {
  country: Country;
  /** National significant number: no trunk prefix, no country code. */
  nsn: string;
}

const CALLING_CODE: Record<Country, string> = { FR: '33', US: '1', GB: '44', DE: '49' };

// Real area codes; exchanges 2xx-9xx so libphonenumber accepts them as valid.
const US_AREAS = ['415', '212', '312', '617', '206', '303', '512', '404', '646', '213'];

function digits(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

function usNsn(rng: Rng): string {
  let exchange: string;
  // N11 codes and 555 are not assignable exchanges.
  do exchange = `${rng.int(2, 9)}${digits(rng, 2)}`;
  while (exchange.endsWith('11') || exchange === '555');
  return `${rng.pick(US_AREAS)}${exchange}${digits(rng, 4)}`;
}

export function mobileFor(rng: Rng, country: Country): Phone {
  switch (country) {
    case 'FR':
      return { country, nsn: `${rng.pick(['6', '7'])}${digits(rng, 8)}` };
    case 'US':
      return { country, nsn: usNsn(rng) };
    case 'GB':
      // 076 is pagers, and libphonenumber rejects it as a mobile; 07700 900xxx (fiction) is rare enough to leave.
      return { country, nsn: `7${rng.pick(['4', '5', '7', '8', '9'])}${digits(rng, 8)}` };
    case 'DE':
      return rng.chance(0.5)
        ? { country, nsn: `15${rng.pick(['1', '2'])}${digits(rng, 8)}` }
        : { country, nsn: `17${rng.int(0, 9)}${digits(rng, 7)}` };
  }
}

export function landlineFor(rng: Rng, country: Country): Phone {
  switch (country) {
    case 'FR':
      return { country, nsn: `${rng.int(1, 5)}${rng.int(1, 9)}${digits(rng, 7)}` };
    case 'US':
      return { country, nsn: usNsn(rng) };
    case 'GB':
      return { country, nsn: `20${rng.pick(['7', '8'])}${digits(rng, 7)}` };
    case 'DE':
      return { country, nsn: `${rng.pick(['30', '89'])}${digits(rng, 8)}` };
  }
}

export function toE164(p: Phone): string {
  return `+${CALLING_CODE[p.country]}${p.nsn}`;
}

/** Splits a digit string into groups of the given sizes; the last group takes the rest. */
function group(s: string, sizes: number[], sep: string): string {
  const out: string[] = [];
  let i = 0;
  for (const n of sizes) {
    if (i >= s.length) break;
    out.push(s.slice(i, i + n));
    i += n;
  }
  if (i < s.length) out.push(s.slice(i));
  return out.join(sep);
}

function nationalForms(p: Phone): string[] {
  const n = p.nsn;
  switch (p.country) {
    case 'FR':
      return [group(`0${n}`, [2, 2, 2, 2, 2], ' '), `0${n}`, group(`0${n}`, [2, 2, 2, 2, 2], '.')];
    case 'US':
      return [`(${n.slice(0, 3)}) ${n.slice(3, 6)}-${n.slice(6)}`, group(n, [3, 3, 4], '-'), group(n, [3, 3, 4], '.'), n];
    case 'GB':
      return n.startsWith('20') ? [group(`0${n}`, [3, 4, 4], ' '), `0${n}`] : [group(`0${n}`, [5, 6], ' '), `0${n}`];
    case 'DE': {
      const area = n.startsWith('1') ? 3 : 2;
      return [`0${n.slice(0, area)} ${n.slice(area)}`, `0${n.slice(0, area)}-${n.slice(area)}`, `0${n}`];
    }
  }
}

function internationalForms(p: Phone): string[] {
  const cc = CALLING_CODE[p.country];
  const n = p.nsn;
  const spaced =
    p.country === 'FR'
      ? group(n, [1, 2, 2, 2, 2], ' ')
      : p.country === 'US'
        ? group(n, [3, 3, 4], ' ')
        : p.country === 'GB'
          ? n.startsWith('20')
            ? group(n, [2, 4, 4], ' ')
            : group(n, [4, 6], ' ')
          : `${n.slice(0, n.startsWith('1') ? 3 : 2)} ${n.slice(n.startsWith('1') ? 3 : 2)}`;
  return [`+${cc} ${spaced}`, `+${cc}${n}`, `00${cc}${n}`, `00${cc} ${spaced}`];
}

/**
 * How a person or an agent typed the number. National forms only make sense
 * with a region to read them in, which is why `national` is a separate choice.
 */
export function formatPhone(rng: Rng, p: Phone, national: boolean): string {
  return rng.pick(national ? nationalForms(p) : internationalForms(p));
}

/** Values typed into mandatory phone fields by people who would not give a number. */
export const PLACEHOLDER_PHONES: readonly string[] = ['0000000000', '1234567890', '+1 555 555 5555'];
