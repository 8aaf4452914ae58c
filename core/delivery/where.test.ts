import { describe, expect, it } from 'vitest';
import type { ProfileDocument } from '../plugin/types.js';
import { compileWhere, WhereSyntaxError } from './where.js';

const doc = (traits: Record<string, unknown>, computed: Record<string, unknown> = {}, ids: Array<[string, string]> = [['email', 'a@b.io']]): ProfileDocument => ({
  id: 'p1',
  identifiers: ids.map(([type, value]) => ({ type, value })),
  traits,
  computed,
  records: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
});

const m = (src: string, d: ProfileDocument) => compileWhere(src).matches(d);

describe('where: the filter language', () => {
  it('compares traits, computed traits, consent and identifiers', () => {
    const d = doc({ country: 'FR', age: '42', tags: ['vip', 'b2b'], consent: { email_marketing: true, sms_marketing: false } }, { orders: 3, revenue: 99.5 });
    expect(m('traits.country = "FR"', d)).toBe(true);
    expect(m("traits.country = 'DE'", d)).toBe(false);
    expect(m('traits.country != "DE"', d)).toBe(true);
    expect(m('computed.orders >= 3 and computed.revenue < 100', d)).toBe(true);
    expect(m('computed.orders > 3', d)).toBe(false);
    expect(m('traits.age > 40', d)).toBe(true); // a numeric string compares as a number against a number
    expect(m('consent.email_marketing', d)).toBe(true);
    expect(m('consent.sms_marketing', d)).toBe(false);
    expect(m('consent.sms_marketing = false', d)).toBe(true);
    expect(m('exists(identifiers.email) and not exists(identifiers.phone)', d)).toBe(true);
    expect(m('contains(traits.tags, "vip")', d)).toBe(true);
    expect(m('traits.country in ["DE", "FR"]', d)).toBe(true);
    expect(m('traits.country in ["DE", "IT"]', d)).toBe(false);
    expect(m('(traits.country = "DE" or computed.orders = 3) and consent.email_marketing', d)).toBe(true);
    expect(m('traits.country = "DE" or computed.orders = 3 and consent.sms_marketing', d)).toBe(false); // and binds tighter
  });

  it('missing values: unequal to everything, and never ordered', () => {
    const d = doc({});
    expect(m('traits.country = "FR"', d)).toBe(false);
    expect(m('traits.country != "FR"', d)).toBe(true);
    expect(m('computed.orders < 1', d)).toBe(false);
    expect(m('computed.orders >= 0', d)).toBe(false);
    expect(m('traits.country = null', d)).toBe(true);
    expect(m('consent.email_marketing', d)).toBe(false);
  });

  it('reports where it cannot parse, with the column', () => {
    const err = (src: string) => {
      try {
        compileWhere(src);
      } catch (e) {
        return e as WhereSyntaxError;
      }
      throw new Error(`parsed: ${src}`);
    };
    expect(err('traits.country = ').message).toBe('expected a value (a "string", a number, true, false or null) but found the end at column 18');
    expect(err('traits.country = "FR" and').column).toBe(26);
    expect(err('traits.x = "a" )').message).toBe('unexpected ")" (expected and, or, or the end) at column 16');
    expect(err('traits.x = "open').message).toBe('unterminated string at column 12');
    expect(err('profile.x = 1').message).toMatch(/^"profile.x" is not a profile path .* at column 1$/);
    expect(err('exists(traits.x').message).toBe('expected ")" but found the end at column 16');
    expect(err('traits.x ! 1').message).toBe('unexpected "!" (use != or not) at column 10');
  });
});
