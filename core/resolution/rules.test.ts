import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolutionSchema } from '../config/schema.js';
import { DEFAULT_BLOCKED, compileBlocklist, compileRules, effectiveRules } from './rules.js';

const defaults = resolutionSchema.parse({});

describe('blocklist predicate', () => {
  const blocked = compileBlocklist(defaults);

  it('blocks each family of the built-in list and lets real values through', () => {
    expect(blocked('email', 'user@example.com')).toMatch(/^blocked value "user@example.com"/);
    expect(blocked('email', 'jane@mailinator.com')).toMatch(/matches/);
    expect(blocked('email', 'test@acme.io')).toMatch(/matches/);
    expect(blocked('email', 'no-reply@acme.io')).toMatch(/matches/);
    expect(blocked('external_id', '0')).toBe('blocked value "0"');
    expect(blocked('external_id', '-')).toBe('blocked value "-"');
    expect(blocked('anonymous_id', 'XXX')).toBe('blocked value "XXX"');
    expect(blocked('phone', '+14155555555')).toMatch(/matches/);
    expect(blocked('email', 'jane@acme.io')).toBeUndefined();
    expect(blocked('phone', '+14155552671')).toBeUndefined();
    expect(blocked('external_id', 'C-001')).toBeUndefined();
  });

  it('a placeholder phone with an extension is still blocked; a real number with one is not', () => {
    expect(blocked('phone', '+14155555555;ext=3')).toMatch(/^blocked value "\+14155555555"/);
    expect(blocked('phone', '+14155552671;ext=3')).toBeUndefined();
  });

  it('configured values add to the built-in list; useDefaultBlocklist: false leaves only them', () => {
    const own = compileBlocklist(resolutionSchema.parse({ blocked: { email: { exact: ['Support@Company.com'], regex: ['^info@'] } } }));
    expect(own('email', 'support@company.com')).toBe('blocked value "support@company.com"');
    expect(own('email', 'info@acme.io')).toMatch(/matches \/\^info@\//);
    expect(own('email', 'test@example.com')).toBeDefined();
    const onlyOwn = compileBlocklist(resolutionSchema.parse({ useDefaultBlocklist: false, blocked: { email: { exact: ['support@company.com'] } } }));
    expect(onlyOwn('email', 'test@example.com')).toBeUndefined();
    expect(onlyOwn('email', 'support@company.com')).toBeDefined();
  });

  it('the resolver refuses exactly what the predicate blocks', () => {
    const rules = compileRules(defaults);
    const { keys, blocked: refused } = rules.candidates([
      { type: 'email', value: 'test@example.com' },
      { type: 'email', value: 'jane@acme.io' },
      { type: 'phone', value: '+14155555555;ext=2' },
    ]);
    expect(keys.map((k) => k.key)).toEqual(['email\u0000jane@acme.io']);
    expect(refused.map((b) => b.reason)).toEqual([expect.stringMatching(/test@example\.com/), expect.stringMatching(/\+14155555555/)]);
  });

  it('a record naming one identifier twice has it once, highest priority first, the namespace rule named', () => {
    const rules = compileRules(resolutionSchema.parse({ mergeOn: ['external_id.crm', 'email', 'phone'] }));
    const { keys, blocked: refused } = rules.candidates([
      { type: 'email', value: 'jane@acme.io' },
      { type: 'email', value: 'test@example.com' },
      { type: 'external_id', namespace: 'crm', value: 'C-1' },
      { type: 'email', value: 'jane@acme.io' },
      { type: 'email', value: 'test@example.com' },
      { type: 'external_id', namespace: 'shop', value: 'S-1' },
    ]);
    expect(keys.map((k) => [k.key, k.rule, k.limitClass])).toEqual([
      ['external_id:crm\u0000C-1', 'mergeOn:external_id.crm', 'external_id:crm'],
      ['email\u0000jane@acme.io', 'mergeOn:email', 'email'],
    ]);
    expect(refused.map((b) => b.key)).toEqual(['email\u0000test@example.com']);
  });
});

describe('effective rules (resolve --show-rules)', () => {
  it('lists built-in and configured blocked values per type, with every other rule', () => {
    const r = effectiveRules(
      resolutionSchema.parse({ identifierTypes: ['loyalty'], blocked: { email: { exact: ['support@company.com'] }, loyalty: { regex: ['^0+$'] } }, genericThreshold: 4 }),
    );
    expect(r.mergeOn).toEqual(['external_id', 'email', 'phone']);
    expect(r.identifierTypes).toEqual(['email', 'phone', 'external_id', 'anonymous_id', 'loyalty']);
    expect(r.limits).toEqual({ external_id: 1, email: 3, phone: 3 });
    expect(r.genericThreshold).toBe(4);
    expect(r.nameGuard).toEqual({ via: ['email', 'phone'], traits: ['firstName', 'fullName', 'name'], familyTraits: ['lastName', 'familyName', 'surname'], strictVia: ['phone'], dateOfBirthTraits: ['dateOfBirth', 'birthDate', 'dob'], postalCodeTraits: ['postalCode', 'address.postalCode', 'postcode', 'zip'] });
    expect(r.caps).toEqual({ maxRecordsPerProfile: 10_000, maxIdentifiersPerProfile: 100 });
    expect(r.blocked.email).toEqual({ builtIn: DEFAULT_BLOCKED.email, configured: { exact: ['support@company.com'], regex: [] } });
    expect(r.blocked['*']).toEqual({ builtIn: DEFAULT_BLOCKED['*'], configured: { exact: [], regex: [] } });
    expect(r.blocked.loyalty).toEqual({ builtIn: { exact: [], regex: [] }, configured: { exact: [], regex: ['^0+$'] } });
    expect(effectiveRules(resolutionSchema.parse({ useDefaultBlocklist: false })).blocked.email.builtIn).toEqual({ exact: [], regex: [] });
  });
});

describe('README', () => {
  it('lists every built-in blocked value and pattern (the real list, not a sample)', () => {
    const readme = readFileSync('README.md', 'utf8');
    const missing: string[] = [];
    for (const [type, list] of Object.entries(DEFAULT_BLOCKED)) {
      for (const v of list.exact) if (!readme.includes(`\`${v}\``) && !(v === '' && readme.includes('`""`'))) missing.push(`${type} exact ${v}`);
      for (const r of list.regex) if (!readme.includes(`\`/${r}/\``)) missing.push(`${type} regex ${r}`);
    }
    expect(missing).toEqual([]);
  });
});
