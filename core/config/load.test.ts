import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { loadConfigText } from './load.js';

const base = `
store: { sqlite: ./.tributary/test.db }
sources:
  - name: crm
    connector: csv
    schedule: "*/15 * * * *"
    streams:
      - name: customers
        primaryKey: crm_id
        config: { path: ./x.csv }
        mapping:
          identifiers: { email: email }
          traits: { firstName: first_name }
`;

function loadError(text: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    loadConfigText(text, 'config/test.yaml', { env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected the config to be refused');
}

describe('config loading', () => {
  it('accepts a valid config and fills defaults', () => {
    const { config } = loadConfigText(base, 'config/test.yaml');
    expect(config.sources[0].streams[0].kind).toBe('identify');
    expect(config.sources[0].batchSize).toBe(5000);
    expect(config.resolution.mergeOn).toEqual(['external_id', 'email', 'phone']);
    expect(config.normalize.defaultRegion).toBe('US');
  });

  it('names the file, the line and the YAML path of a wrong type', () => {
    const err = loadError(base.replace('primaryKey: crm_id', 'primaryKey: 12'));
    expect(err.describe()).toMatch(/^config\/test\.yaml:9: sources\[0\]\.streams\[0\]\.primaryKey: /);
    expect(err.context.line).toBe(9);
    expect(err.message).toBe('sources[0].streams[0].primaryKey: expected string or array');
  });

  it('names unknown keys', () => {
    const err = loadError(base.replace('    schedule:', '    shedule:'));
    expect(err.message).toContain('sources[0]');
    expect(err.message).toContain('unknown key "shedule"');
    expect(err.context.line).toBe(4);
  });

  it('rejects an invalid cron expression', () => {
    const err = loadError(base.replace('"*/15 * * * *"', '"every minute"'));
    expect(err.message).toMatch(/sources\[0\]\.schedule: expected a cron expression/);
    expect(err.context.line).toBe(6);
  });

  it('resolves ${ENV} and ${file:...} and remembers them as secrets', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trib-cfg-'));
    writeFileSync(join(dir, 'pw'), 's3cr3t-from-file\n');
    const text = `${base}    config: { user: "\${DB_USER}", password: "\${file:${join(dir, 'pw')}}" }\n`;
    const { config, secrets } = loadConfigText(text, 'x.yaml', { env: { DB_USER: 'crm-reader' } });
    expect(config.sources[0].config).toEqual({ user: 'crm-reader', password: 's3cr3t-from-file' });
    expect([...secrets].sort()).toEqual(['crm-reader', 's3cr3t-from-file']);
  });

  it('fails fast on an unset environment variable, naming where it is used', () => {
    const err = loadError(`${base}    config: { password: "\${NOPE_NOT_SET}" }\n`);
    expect(err.message).toBe('sources[0].config.password: environment variable NOPE_NOT_SET is not set');
    expect(err.context.line).toBe(14);
  });

  it('reports YAML syntax errors with a line', () => {
    const err = loadError('sources:\n  - name: [unclosed\n');
    expect(err.message).toMatch(/^invalid YAML/);
    expect(err.context.line).toBeGreaterThan(0);
  });

  it('rejects duplicate source names', () => {
    const err = loadError(base + base.split('sources:\n')[1]);
    expect(err.message).toMatch(/sources\[1\]\.name: duplicate source name "crm"/);
  });

  it('rejects rules naming an unknown identifier type and bad regexes', () => {
    expect(loadError(`${base}resolution: { mergeOn: [emial] }\n`).message).toMatch(
      /resolution\.mergeOn\[0\]: unknown identifier type "emial"/,
    );
    expect(loadError(`${base}resolution: { blocked: { email: { regex: ["(unclosed"] } } }\n`).message).toMatch(
      /resolution\.blocked\.email\.regex\[0\]: invalid regular expression/,
    );
  });

  it('rejects a track stream without an event mapping', () => {
    expect(loadError(base.replace('primaryKey: crm_id', 'primaryKey: crm_id\n        kind: track')).message).toMatch(
      /mapping: a track stream needs mapping\.event/,
    );
  });

  it('an unknown identifier type in a mapping is refused at its line, with a did-you-mean', () => {
    const err = loadError(base.replace('identifiers: { email: email }', 'identifiers: { emial: email }'));
    expect(err.message).toBe(
      'sources[0].streams[0].mapping.identifiers.emial: unknown identifier type "emial"; did you mean "email"? (known: anonymous_id, email, external_id, phone; declare others in resolution.identifierTypes)',
    );
    expect(err.context.line).toBe(12);
    expect(loadError(base.replace('identifiers: { email: email }', 'identifiers: { externalid.crm: crm_id }')).message).toMatch(
      /identifiers\.externalid\.crm: unknown identifier type "externalid"; did you mean "external_id"\?/,
    );
    // Nothing close: no suggestion.
    expect(loadError(base.replace('identifiers: { email: email }', 'identifiers: { loyalty: card }')).message).toMatch(/unknown identifier type "loyalty" \(known:/);
  });

  it('custom identifier types are declared in resolution.identifierTypes; namespaces only where they are kept', () => {
    const { config } = loadConfigText(
      `${base.replace('identifiers: { email: email }', 'identifiers: { loyalty: card, external_id.crm: crm_id, anonymous_id: anon }')}resolution: { identifierTypes: [loyalty], mergeOn: [loyalty, email] }\n`,
      'x.yaml',
    );
    expect(config.resolution.identifierTypes).toEqual(['loyalty']);
    expect(loadError(base.replace('identifiers: { email: email }', 'identifiers: { email.work: email }')).message).toMatch(
      /identifiers\.email\.work: email takes no namespace/,
    );
    expect(loadError(base.replace('identifiers: { email: email }', 'identifiers: { external_id.: crm_id }')).message).toMatch(/identifiers\.external_id\.: empty namespace/);
  });

  it('rules may not name a type just because a mapping uses it: only known or declared types count', () => {
    const typo = base.replace('identifiers: { email: email }', 'identifiers: { email: email, emial: email2 }');
    // The mapping typo is the first error, not a licence for the rule to use it.
    expect(loadError(`${typo}resolution: { mergeOn: [emial] }\n`).message).toMatch(/mapping\.identifiers\.emial: unknown identifier type/);
    expect(loadError(`${base}resolution: { limits: { phnoe: 2 } }\n`).message).toMatch(/resolution\.limits\.phnoe: unknown identifier type "phnoe"; did you mean "phone"\?/);
  });
});

describe('config loading: a key named __proto__', () => {
  it('is refused with its path and line, not dropped (a trait named __proto__ vanished before the schema saw it)', () => {
    const err = loadError(base.replace('traits: { firstName: first_name }', 'traits: { firstName: first_name, __proto__: legacy_code }'));
    expect(err.message).toMatch(/^sources\[0\]\.streams\[0\]\.mapping\.traits\.__proto__: a key named __proto__ cannot be kept/);
    expect(err.context.line).toBe(13);
    expect(loadError(`${base}resolution:\n  traits:\n    __proto__: { strategy: first_seen }\n`).context.path).toBe('resolution.traits.__proto__');
  });

  it('a source field named __proto__ is a value, and loads', () => {
    const { config } = loadConfigText(base.replace('traits: { firstName: first_name }', 'traits: { legacy: __proto__, code: "meta.__proto__" }'), 'config/test.yaml');
    expect(config.sources[0].streams[0].mapping.traits).toStrictEqual({ legacy: '__proto__', code: 'meta.__proto__' });
  });
});
