import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { Survivorship } from '../resolution/survivorship.js';
import type { ProfileState } from '../resolution/types.js';
import type { CanonicalRecord } from '../schema/canonical.js';
import { hasGrant, latestConsent } from './consent.js';

const profile = (id: string): ProfileState => ({
  id,
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  identifiers: [],
  recordCount: 0,
  traits: {},
  traitSources: {},
  computed: {},
  aggregates: {},
});

const stmt = (recordId: string, at: string, consent: Record<string, boolean>, source = 'crm'): CanonicalRecord => ({
  kind: 'identify',
  source,
  stream: 'customers',
  recordId,
  observedAt: at,
  identifiers: [],
  traits: {},
  consent,
});

const consentOf = (p: ProfileState) => p.traits.consent as Record<string, boolean> | undefined;
const rules = new Survivorship({ traits: {}, computed: {} });

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

describe('consent per purpose: the latest statement stands', () => {
  it('a later grant replaces an earlier withdrawal and the other way round, per purpose', () => {
    const p = profile('p1');
    rules.apply(p, stmt('1', '2026-01-01T00:00:00.000Z', { email_marketing: false, sms_marketing: true }));
    rules.apply(p, stmt('2', '2026-01-02T00:00:00.000Z', { email_marketing: true }));
    expect(consentOf(p)).toEqual({ email_marketing: true, sms_marketing: true });
    // An older record read later does not override the newer statement.
    rules.apply(p, stmt('3', '2025-12-01T00:00:00.000Z', { email_marketing: false, sms_marketing: false }));
    expect(consentOf(p)).toEqual({ email_marketing: true, sms_marketing: true });
    expect(p.traitSources['consent.email_marketing']).toBe('crm/customers/2');
  });

  it('a grant and a withdrawal at the same time: the withdrawal stands, whichever arrives first', () => {
    for (const order of [['grant', 'withdraw'], ['withdraw', 'grant']]) {
      const p = profile('p1');
      for (const what of order) rules.apply(p, stmt(what, '2026-01-05T10:00:00.000Z', { email_marketing: what === 'grant' }));
      expect(consentOf(p)?.email_marketing, order.join(' then ')).toBe(false);
    }
  });

  it('the outcome does not depend on the order statements arrive in', () => {
    const statements = [
      stmt('a', '2026-01-01T00:00:00.000Z', { email_marketing: true, analytics: true }),
      stmt('b', '2026-01-03T00:00:00.000Z', { email_marketing: false }),
      stmt('c', '2026-01-03T00:00:00.000Z', { email_marketing: true, analytics: false }),
      stmt('d', '2026-01-02T00:00:00.000Z', { analytics: true }, 'shop'),
    ];
    const outcomes = new Set<string>();
    for (const order of permutations(statements)) {
      const p = profile('p1');
      for (const r of order) rules.apply(p, r);
      const c = consentOf(p)!;
      outcomes.add(JSON.stringify([c.email_marketing, c.analytics, p.traitSources['consent.email_marketing'], p.traitSources['consent.analytics']]));
    }
    expect([...outcomes]).toEqual([JSON.stringify([false, false, 'crm/customers/b', 'crm/customers/c'])]);
  });

  it('a merge never turns a withdrawal into a grant: the survivor holds what all statements of both give', () => {
    // Survivor granted earlier; the absorbed profile withdrew later; and a tie on sms.
    const survivor = profile('p1');
    rules.apply(survivor, stmt('1', '2026-01-01T00:00:00.000Z', { email_marketing: true, sms_marketing: true }));
    const absorbed = profile('p2');
    rules.apply(absorbed, stmt('2', '2026-01-02T00:00:00.000Z', { email_marketing: false }));
    rules.apply(absorbed, stmt('3', '2026-01-01T00:00:00.000Z', { sms_marketing: false }));
    rules.merge(survivor, absorbed);
    expect(consentOf(survivor)).toEqual({ email_marketing: false, sms_marketing: false });

    // The other direction (the withdrawn profile survives a granted one) gives the same.
    const w = profile('p3');
    rules.apply(w, stmt('2', '2026-01-02T00:00:00.000Z', { email_marketing: false }));
    rules.apply(w, stmt('3', '2026-01-01T00:00:00.000Z', { sms_marketing: false }));
    const g = profile('p4');
    rules.apply(g, stmt('1', '2026-01-01T00:00:00.000Z', { email_marketing: true, sms_marketing: true }));
    rules.merge(w, g);
    expect(consentOf(w)).toEqual({ email_marketing: false, sms_marketing: false });
  });

  it('latestConsent is commutative and associative (what makes merges order-free)', () => {
    const cells = [
      { v: true, at: '2026-01-01', src: 'x/1' },
      { v: false, at: '2026-01-01', src: 'x/2' },
      { v: true, at: '2026-01-02', src: 'x/3' },
      { v: true, at: '2026-01-02', src: 'x/0' },
    ];
    for (const a of cells)
      for (const b of cells) {
        expect(latestConsent(a, b)).toBe(latestConsent(b, a));
        for (const c of cells) expect(latestConsent(latestConsent(a, b), c)).toBe(latestConsent(a, latestConsent(b, c)));
      }
  });

  it('no statement is no grant', () => {
    expect(hasGrant({}, 'email_marketing')).toBe(false);
    expect(hasGrant({ consent: { email_marketing: false } }, 'email_marketing')).toBe(false);
    expect(hasGrant({ consent: { email_marketing: 'yes' } }, 'email_marketing')).toBe(false);
    expect(hasGrant({ consent: { email_marketing: true } }, 'email_marketing')).toBe(true);
  });
});

describe('purposes in YAML', () => {
  const yaml = (purpose: string, declared = '') => `
sources:
  - name: crm
    connector: inline
    streams:
      - name: customers
        primaryKey: id
        mapping:
          identifiers: { email: email }
          consent:
            ${purpose}: optin
destinations:
  - name: out
    connector: webhook
    purpose: ${purpose}
${declared}`;

  it('an unknown purpose in a mapping is refused at load with its YAML line', () => {
    const err = (() => {
      try {
        loadConfigText(yaml('email_marketting'), 'cfg.yaml');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('unknown consent purpose "email_marketting"; did you mean "email_marketing"?');
    expect((err as ConfigError).message).toContain('sources[0].streams[0].mapping.consent.email_marketting');
    expect((err as ConfigError).describe()).toContain('cfg.yaml:11');
  });

  it('an unknown purpose on a destination is refused with its line; a declared one is accepted', () => {
    const text = yaml('email_marketing').replace('purpose: email_marketing', 'purpose: newsletter');
    expect(() => loadConfigText(text, 'cfg.yaml')).toThrow(/destinations\[0\]\.purpose: unknown consent purpose "newsletter"/);
    try {
      loadConfigText(text, 'cfg.yaml');
    } catch (e) {
      expect((e as ConfigError).describe()).toContain('cfg.yaml:15');
    }
    const ok = loadConfigText(yaml('newsletter', 'privacy:\n  purposes: [newsletter]\n'), 'cfg.yaml');
    expect(ok.config.destinations[0].purpose).toBe('newsletter');
  });
});
