import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

const badConfig = z.object({
  name: z.string(),
  config: z.unknown(),
  /** A regular expression the refusal message (schema issues or `check`'s message) must match. */
  message: z.string(),
});

export const sourceFixtureSchema = z.object({
  /** The source id inside the plugin; optional when the plugin has one source. */
  connector: z.string().optional(),
  config: z.unknown(),
  stream: z.object({
    name: z.string(),
    mode: z.enum(['full_refresh', 'incremental']).default('incremental'),
    cursorField: z.string().optional(),
    primaryKey: z.array(z.string()).optional(),
    config: z.unknown().optional(),
  }),
  /** Fields whose values identify a record (default: the stream's primaryKey, else discover's). */
  primaryKey: z.array(z.string()).optional(),
  /** How many records a full read must yield. */
  expectedCount: z.number().int().nonnegative(),
  /** A state past every record the fixture holds: reading from it must yield nothing. */
  farFutureState: z.record(z.string(), z.unknown()),
  /**
   * The same source with newer records added (e.g. a second fixture file that holds
   * the first one's records plus newer ones). Reading it from the full read's final
   * state must yield exactly `newKeys`. Without it the runner reads the same config
   * again from the final state and expects nothing.
   */
  incremental: z.object({ config: z.unknown(), newKeys: z.array(z.string()) }).optional(),
  badConfigs: z.array(badConfig).default([]),
});

export const destinationFixtureSchema = z.object({
  connector: z.string().optional(),
  config: z.unknown(),
  /** A config under which the vendor fails transiently (503, a refused connection): every item must come back retryable. */
  retryable: z.object({ config: z.unknown() }).optional(),
  /** An item the destination must refuse permanently, with a reason (an invalid email for an email tool). */
  permanentItem: z.record(z.string(), z.unknown()).optional(),
  /** A config under which the vendor answers 429 with a reset time: the result must be retryable with retryAfterMs, or the connector must call ctx.rate.pause. */
  rateLimited: z.object({ config: z.unknown() }).optional(),
  badConfigs: z.array(badConfig).default([]),
});

export const kitFixtureSchema = z
  .object({
    source: sourceFixtureSchema.optional(),
    destination: destinationFixtureSchema.optional(),
    /** Per-check deadline in milliseconds. */
    timeoutMs: z.number().int().positive().optional(),
  })
  .refine((f) => f.source || f.destination, { message: 'a kit fixture needs a `source:` or a `destination:` section' });

export type SourceFixture = z.infer<typeof sourceFixtureSchema>;
export type DestinationFixture = z.infer<typeof destinationFixtureSchema>;
export type KitFixture = z.infer<typeof kitFixtureSchema> & { file: string; baseDir: string };

/**
 * `${NAME}` in any string of a fixture is the environment variable NAME, so a
 * fixture can point at a test server's address and hold no key; an unset one is
 * an error naming it, never an empty string sent to the vendor.
 */
function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, file: string): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) throw new ConfigError(`kit fixture: environment variable ${name} is not set`, { file });
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolateEnv(v, env, file));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, file)]));
  return value;
}

/** Read a kit fixture YAML (`${ENV}` interpolated); relative paths in connector configs resolve against its folder (`ctx.baseDir`). */
export function loadKitFixture(file: string, env: NodeJS.ProcessEnv = process.env): KitFixture {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read kit fixture: ${(err as Error).message}`, { file: abs });
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new ConfigError(`kit fixture is not valid YAML: ${(err as Error).message}`, { file: abs });
  }
  const parsed = kitFixtureSchema.safeParse(interpolateEnv(raw, env, abs));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`kit fixture: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { file: abs });
  }
  return { ...parsed.data, file: abs, baseDir: dirname(abs) };
}
