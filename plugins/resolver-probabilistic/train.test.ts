import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../core/config/load.js';
import { boot } from '../../core/container.js';
import { ConfigError } from '../../core/errors.js';
import { loadProbabilisticConfig } from './train.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function configWith(probabilistic: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'prob-config-'));
  dirs.push(dir);
  const example = readFileSync(new URL('./example/tributary.yaml', import.meta.url), 'utf8');
  const file = join(dir, 'tributary.yaml');
  writeFileSync(file, example.replace(/  probabilistic:\n[\s\S]*$/, probabilistic));
  return file;
}

describe('resolution.probabilistic at load', () => {
  it('accepts the worked example', () => {
    const loaded = loadConfigFile(new URL('./example/tributary.yaml', import.meta.url).pathname);
    expect(loadProbabilisticConfig(loaded).comparisons).toHaveLength(6);
  });

  it('refuses a comparison on a trait no source maps, naming its YAML line', () => {
    const file = configWith(
      ['  probabilistic:', '    comparisons:', '      - { trait: firstName, kind: jaro-winkler }', '      - { trait: phoneNumber, kind: phone-last }', '    blocking:', '      - { name: postcode, on: [postcode] }', ''].join('\n'),
    );
    const loaded = loadConfigFile(file);
    let err: unknown;
    try {
      loadProbabilisticConfig(loaded);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/comparisons\.1\.trait: trait "phoneNumber" is not mapped by any source stream/);
    const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('phoneNumber')) + 1;
    expect((err as ConfigError).context.line).toBe(line);
  });

  it('refuses a blocking part on an unmapped trait and a malformed comparison', () => {
    const unmapped = loadConfigFile(configWith(['  probabilistic:', '    comparisons: [{ trait: firstName, kind: exact }]', '    blocking: [{ name: city, on: [city] }]', ''].join('\n')));
    expect(() => loadProbabilisticConfig(unmapped)).toThrow(/blocking\.0\.on\.0: trait "city"/);
    const bad = loadConfigFile(configWith(['  probabilistic:', '    comparisons: [{ trait: firstName, kind: fuzzy }]', '    blocking: [{ name: p, on: [postcode] }]', ''].join('\n')));
    expect(() => loadProbabilisticConfig(bad)).toThrow(/resolution\.probabilistic\.comparisons\[0\]\.kind|comparisons\.0\.kind/);
  });

  it('refuses an unmapped comparison trait at boot (every command), naming the file and line, not only at resolve --train', async () => {
    const file = configWith(
      ['  probabilistic:', '    comparisons:', '      - { trait: firstName, kind: jaro-winkler }', '      - { trait: phoneNumber, kind: phone-last }', '    blocking:', '      - { name: postcode, on: [postcode] }', ''].join('\n'),
    );
    const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('phoneNumber')) + 1;
    const err = await boot({ configFile: file, logLevel: 'error' }).then(
      async (b) => {
        await b.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).describe()).toBe(`${file}:${line}: resolution.probabilistic.comparisons.1.trait: trait "phoneNumber" is not mapped by any source stream (mapped: dateOfBirth, firstName, lastName, postcode, street, suburb)`);
    // The same file with the comparison on a mapped trait boots.
    const fixed = configWith(['  probabilistic:', '    comparisons:', '      - { trait: firstName, kind: jaro-winkler }', '    blocking:', '      - { name: postcode, on: [postcode] }', ''].join('\n'));
    const ok = await boot({ configFile: fixed, logLevel: 'error' });
    await ok.close();
  });
});
