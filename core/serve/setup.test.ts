import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { boot, type Booted } from '../container.js';
import { captureLogger } from '../../test/kit/context.js';
import { ConfigError } from '../errors.js';
import { buildServer } from './setup.js';
import { WRITE_KEY, removeTrackingConfigs, trackingConfig, trackingStreams } from './__fixtures__/tracking-config.js';

const opened: Booted[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.close();
});

async function bootWith(edit: (cfg: Record<string, unknown>) => void) {
  const { file } = trackingConfig();
  const cfg = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(cfg);
  writeFileSync(file, stringify(cfg));
  const b = await boot({ configFile: file, logger: captureLogger(), env: { ...process.env, WEB_WRITE_KEY: WRITE_KEY } });
  opened.push(b);
  return { file, b };
}

afterAll(removeTrackingConfigs);

describe('serve configuration', () => {
  it('a bad serve: value is refused at load with the file, line and YAML path', async () => {
    const err = await bootWith((c) => ((c.serve as Record<string, unknown>).flushMs = 5000)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).describe()).toMatch(/tributary\.yaml:\d+: serve\.flushMs: Too big/);
  });

  it('a write key too short, or one used by two sources, names the YAML path and line', async () => {
    const short = await bootWith((c) => (((c.sources as Array<Record<string, unknown>>)[0].config as Record<string, unknown>).writeKeys = ['abc']));
    expect(() => buildServer(short.b.loaded, short.b.registry, captureLogger())).toThrow(/sources\[0\]\.config\.writeKeys\[0\]: expected a write key of at least 8 characters/);
    const twice = await bootWith((c) =>
      (c.sources as unknown[]).push({ name: 'app', connector: 'tracking', config: { writeKeys: ['${WEB_WRITE_KEY}'] }, streams: trackingStreams }),
    );
    let err: unknown;
    try {
      buildServer(twice.b.loaded, twice.b.registry, captureLogger());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).describe()).toMatch(/tributary\.yaml:\d+: sources\[1\]\.config\.writeKeys: a write key of source app is also one of source web/);
    // The key itself is never in the message.
    expect((err as ConfigError).describe()).not.toContain(WRITE_KEY);
  });
});
