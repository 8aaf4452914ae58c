import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { LoadedConfig } from '../config/load.js';
import { describeIssue, formatPath } from '../config/load.js';

/**
 * Validate a connector's own config block against its spec, naming the YAML
 * path and line of the first problem (`sources[0].config.host: expected string`).
 */
export function parsePluginConfig<T>(
  schema: z.ZodType<T>,
  value: unknown,
  at: Array<string | number>,
  loaded: LoadedConfig,
  sync?: string,
): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = [...at, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
  throw new ConfigError(`${formatPath(path)}: ${describeIssue(issue)}`, {
    file: loaded.file,
    line: loaded.lineOf(path),
    path: formatPath(path),
    sync,
  });
}
