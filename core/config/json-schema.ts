import { z } from 'zod';
import { configSchema } from './schema.js';

/** JSON Schema of tributary.yaml, generated from the zod schema so the two never drift. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://tributary.dev/schema/tributary.schema.json',
    title: 'Tributary configuration',
    description: 'Sources, streams and mappings, identity resolution rules, destinations and the store.',
  };
}
