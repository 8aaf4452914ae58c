import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import { loadConfigText } from './load.js';

const config = (traits: string) => `
store: { sqlite: ./.tributary/test.db }
sources:
  - name: crm
    connector: csv
    streams:
      - name: customers
        primaryKey: id
        config: { path: ./x.csv }
        mapping: { identifiers: { email: email } }
  - name: shop
    connector: csv
    streams:
      - name: orders
        primaryKey: id
        config: { path: ./y.csv }
        mapping: { identifiers: { email: email } }
resolution:
  traits:
${traits}
`;

function refusal(text: string): string {
  try {
    loadConfigText(text, 'config/test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).describe();
  }
  throw new Error('expected the config to be refused');
}

describe('references between config sections', () => {
  it('a survivorship rule naming a source that does not exist is refused with the line and a suggestion', () => {
    const text = config('    firstName: { strategy: source_priority, sources: [crm, shopp] }');
    expect(refusal(text)).toBe('config/test.yaml:20: resolution.traits.firstName.sources[1]: no source named "shopp" (did you mean "shop"?); sources: crm, shop');
    expect(refusal(config('    city: { strategy: most_recent, sources: [nosuch] }'))).toBe(
      'config/test.yaml:20: resolution.traits.city.sources[0]: no source named "nosuch"; sources: crm, shop',
    );
  });
  it('source_priority without sources is refused; rules that name real sources load', () => {
    expect(refusal(config('    firstName: { strategy: source_priority }'))).toMatch(/^config\/test\.yaml:20: resolution\.traits\.firstName\.strategy: source_priority needs `sources:`/);
    const ok = loadConfigText(config('    firstName: { strategy: source_priority, sources: [shop, crm] }'), 'config/test.yaml');
    expect(ok.config.resolution.traits.firstName.sources).toEqual(['shop', 'crm']);
  });
});
