import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from './json-schema.js';

describe('generated JSON Schema', () => {
  it('config/tributary.schema.json is up to date with the zod schema (run `npm run schema`)', () => {
    const committed = JSON.parse(readFileSync('config/tributary.schema.json', 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });

  it('describes the sources, streams and mapping editors need', () => {
    const s = configJsonSchema() as { properties: Record<string, { items?: { properties: Record<string, unknown> } }> };
    expect(Object.keys(s.properties).sort()).toEqual(['destinations', 'normalize', 'plugins', 'privacy', 'resolution', 'serve', 'sources', 'store']);
    expect(Object.keys(s.properties.sources.items!.properties)).toContain('streams');
  });
});
