import type { Rng } from './prng.js';

/**
 * The ways real rows differ from the clean value. Each helper leaves the value
 * alone most of the time: noise on every row would hide which noise a resolver handles.
 */

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "  John.Doe@Example.COM ": case and stray spaces, which normalization must undo. */
export function noisyEmail(rng: Rng, email: string, p: number): string {
  if (!rng.chance(p)) return email;
  const [local, domain] = email.split('@');
  let out = rng.weighted([
    [`${local.split('.').map(capitalize).join('.')}@${capitalize(domain.split('.')[0])}.${domain.split('.').slice(1).join('.').toUpperCase()}`, 3],
    [email.toUpperCase(), 1],
    [`${capitalize(local)}@${domain}`, 2],
    [email, 2],
  ] as const);
  if (rng.chance(0.6)) out = `${' '.repeat(rng.int(1, 2))}${out}`;
  if (rng.chance(0.6)) out = `${out}${' '.repeat(rng.int(1, 2))}`;
  return out;
}

/** One keyboard slip: swapped, dropped or doubled letter, or a lost accent. */
export function typo(rng: Rng, name: string): string {
  if (name.length < 3) return name;
  const folded = name.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
  if (folded !== name && rng.chance(0.5)) return folded;
  const i = rng.int(1, name.length - 2);
  switch (rng.int(0, 2)) {
    case 0:
      return name.slice(0, i) + name[i + 1] + name[i] + name.slice(i + 2);
    case 1:
      return name.slice(0, i) + name.slice(i + 1);
    default:
      return name.slice(0, i) + name[i] + name.slice(i);
  }
}

/** Names as typed: mostly clean, sometimes misspelt, shouted, lowercased or padded. */
export function noisyName(rng: Rng, name: string): string {
  const r = rng.next();
  if (r < 0.05) return typo(rng, name);
  if (r < 0.08) return name.toUpperCase();
  if (r < 0.1) return name.toLowerCase();
  if (r < 0.12) return ` ${name} `;
  return name;
}

/** Addresses typed by people who would not give theirs, or by integrations with nothing better. */
export function placeholderEmails(shopDomain: string): readonly string[] {
  return ['test@test.com', `noreply@${shopDomain}`, 'n/a', 'none@none.com', ''];
}

const DAY_MS = 86_400_000;
const START_MS = Date.UTC(2022, 0, 1);
const SPAN_DAYS = 3 * 365 + 180;

export function randomTime(rng: Rng): number {
  return START_MS + rng.int(0, SPAN_DAYS - 1) * DAY_MS + rng.int(0, DAY_MS / 1000 - 1) * 1000;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

export function sqlTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
