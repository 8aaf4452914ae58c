import { z } from 'zod';
import { configSchema } from './schema.js';
import type { DestinationConnector, SourceConnector } from '../plugin/types.js';

/** The connectors whose own schemas go into the generated schema (built-ins and installed plugins). */
export interface SchemaConnectors {
  sources: SourceConnector[];
  destinations: DestinationConnector[];
}

type Json = Record<string, unknown>;

/** A connector's zod schema as JSON Schema (input side: defaults make a key optional). */
function connectorSchema(schema: unknown, what: string, problems: string[]): Json | undefined {
  if (!schema) return undefined;
  try {
    const out = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as Json;
    delete out.$schema;
    return out;
  } catch (err) {
    // A schema built with another zod (or one zod cannot express) only loses its autocompletion.
    problems.push(`${what}: ${(err as Error).message}`);
    return undefined;
  }
}

/** "when `connector` is <id>, `config` (and each stream's `config`) follow the connector's schema". */
function perConnector(id: string, config: Json | undefined, stream: Json | undefined): Json {
  const then: Json = { properties: {} as Json };
  if (config) (then.properties as Json).config = config;
  if (stream) (then.properties as Json).streams = { items: { properties: { config: stream } } };
  return { if: { properties: { connector: { const: id } }, required: ['connector'] }, then };
}

function withConnectors(list: Json, connectors: Array<{ id: string; config?: Json; stream?: Json }>): Json {
  const items = { ...(list.items as Json) };
  const props = { ...(items.properties as Json) };
  props.connector = { ...(props.connector as Json), examples: connectors.map((c) => c.id) };
  items.properties = props;
  items.allOf = connectors.map((c) => perConnector(c.id, c.config, c.stream));
  return { ...list, items };
}

/**
 * JSON Schema of tributary.yaml, generated from the zod schema so the two never drift.
 * Given connectors, it also carries each one's `spec.config` (and sources' `spec.stream`),
 * selected by the `connector:` id, so an editor completes and checks connector options.
 * `problems` collects connectors whose schema could not be converted.
 */
export function configJsonSchema(connectors?: SchemaConnectors, problems: string[] = []): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  if (connectors) {
    const props = { ...(schema.properties as Json) };
    const sources = [...connectors.sources].sort((a, b) => a.id.localeCompare(b.id));
    const destinations = [...connectors.destinations].sort((a, b) => a.id.localeCompare(b.id));
    props.sources = withConnectors(props.sources as Json, sources.map((s) => ({
      id: s.id,
      config: connectorSchema(s.spec.config, `source ${s.id} config`, problems),
      stream: connectorSchema(s.spec.stream, `source ${s.id} stream config`, problems),
    })));
    props.destinations = withConnectors(props.destinations as Json, destinations.map((d) => ({
      id: d.id,
      config: connectorSchema(d.spec.config, `destination ${d.id} config`, problems),
    })));
    schema.properties = props;
  }
  return {
    ...schema,
    $id: 'https://tributary.dev/schema/tributary.schema.json',
    title: 'Tributary configuration',
    description: 'Sources, streams and mappings, identity resolution rules, destinations and the store.',
  };
}
