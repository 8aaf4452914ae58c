import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configJsonSchema } from './json-schema.js';
import { collectSchemaConnectors } from '../plugin/schema-connectors.js';
import type { SourceConnector } from '../plugin/types.js';

type Node = { properties: Record<string, any>; items?: any; allOf?: any[] };

/** The `then` branch that applies when `connector:` is `id`, in sources or destinations. */
function branch(schema: Record<string, unknown>, list: 'sources' | 'destinations', id: string) {
  const items = (schema as unknown as Node).properties[list].items as Node;
  return items.allOf?.find((a) => a.if.properties.connector.const === id)?.then;
}

describe('generated JSON Schema', () => {
  it('config/tributary.schema.json is up to date with the zod schema and the built-in connectors (run `npm run schema`)', async () => {
    const committed = JSON.parse(readFileSync('config/tributary.schema.json', 'utf8'));
    expect(committed).toEqual(configJsonSchema(await collectSchemaConnectors()));
  });

  it('describes the sources, streams and mapping editors need', () => {
    const s = configJsonSchema() as { properties: Record<string, { items?: { properties: Record<string, unknown> } }> };
    expect(Object.keys(s.properties).sort()).toEqual(['destinations', 'normalize', 'plugins', 'privacy', 'queue', 'resolution', 'serve', 'sources', 'store', 'timeouts']);
    expect(Object.keys(s.properties.sources.items!.properties)).toContain('streams');
  });

  it("carries each connector's config and stream options, selected by its connector id", async () => {
    const s = configJsonSchema(await collectSchemaConnectors());
    expect(branch(s, 'sources', 'postgres').properties.config.properties).toHaveProperty('host');
    expect(branch(s, 'sources', 'csv').properties.streams.items.properties.config.properties).toHaveProperty('path');
    expect(branch(s, 'destinations', 'brevo').properties.config.properties).toHaveProperty('apiKey');
    expect((s as unknown as Node).properties.sources.items.properties.connector.examples).toContain('mysql');
  });

  it("a plugin's own config option appears, with its description, and a schema zod cannot convert costs only that connector", () => {
    const plugin = {
      id: 'acme-crm', kind: 'source',
      spec: { config: z.object({ tenant: z.string().describe('Your Acme tenant id.'), pageSize: z.number().default(100) }), stream: z.object({ objectType: z.enum(['lead', 'contact']) }) },
    } as unknown as SourceConnector;
    const broken = { id: 'weird', kind: 'source', spec: { config: { not: 'zod' } } } as unknown as SourceConnector;
    const problems: string[] = [];
    const s = configJsonSchema({ sources: [plugin, broken], destinations: [] }, problems);
    const then = branch(s, 'sources', 'acme-crm');
    expect(then.properties.config.properties.tenant).toEqual({ type: 'string', description: 'Your Acme tenant id.' });
    expect(then.properties.config.required).toEqual(['tenant']); // pageSize has a default: optional in YAML
    expect(then.properties.streams.items.properties.config.properties.objectType.enum).toEqual(['lead', 'contact']);
    expect(branch(s, 'sources', 'weird')).toEqual({ properties: {} });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^source weird config: /);
  });
});
