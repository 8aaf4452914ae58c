import type { LoadedConfig } from '../config/load.js';
import { formatPath } from '../config/load.js';
import type { DestinationConfig, RateBudgetConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { connectorFor, parsePluginConfig } from '../engine/plugin-config.js';
import type { PluginRegistry } from '../plugin/loader.js';
import type { DestinationConnector, RateBudget } from '../plugin/types.js';
import { compilePayload, type CompiledPayload } from './payload.js';
import { compileWhere, WhereSyntaxError, type CompiledWhere } from './where.js';
import { unknownName, vocabularyOf } from './vocabulary.js';

/** Everything about one destination that can be worked out before a delivery: checked once, at load. */
export interface DestinationPlan {
  dest: DestinationConfig;
  index: number;
  connector: DestinationConnector;
  config: unknown;
  payload?: CompiledPayload;
  where?: CompiledWhere;
  canDelete: boolean;
  /** The consent purpose it serves (`purpose:` in YAML): only profiles with a grant go out. */
  purpose?: string;
  /**
   * How it withdraws a profile whose consent for `purpose` is gone: `rewrite` for
   * snapshot destinations (the next snapshot leaves it out); `update` for a
   * destination that withdraws by deleting but whose `mapping:` writes
   * `consent.<purpose>` (the row stays, its consent column set to false);
   * `none`: it cannot (reported in status).
   */
  withdraw: 'mark' | 'delete' | 'update' | 'rewrite' | 'none';
  sendEvents: boolean;
  budgets: Record<string, RateBudget>;
  maxBatchItems: number;
  maxBatchBytes: number;
  maxItemBytes: number;
  /** Load-time warnings, each with its YAML location ("config/x.yaml:31: destinations[0].mapping.FOO: ..."). */
  warnings: string[];
}

function mergeBudgets(connector: DestinationConnector, override: DestinationConfig['rateLimit'], fail: (p: Array<string | number>, m: string) => never): Record<string, RateBudget> {
  const base: Record<string, RateBudget> = { ...(connector.budgets ?? {}) };
  if (!override) return base;
  const single = ['perSecond', 'perMinute', 'perHour'].some((k) => k in override);
  if (single) {
    const names = Object.keys(base).length ? Object.keys(base) : ['default'];
    for (const n of names) base[n] = { ...base[n], ...(override as RateBudgetConfig) };
    return base;
  }
  for (const [name, b] of Object.entries(override as Record<string, RateBudgetConfig>)) {
    if (Object.keys(base).length && !(name in base)) {
      fail(['rateLimit', name], `connector ${connector.id} has no budget "${name}" (its budgets: ${Object.keys(base).join(', ')})`);
    }
    base[name] = { ...base[name], ...b };
  }
  return base;
}

function withdrawMode(connector: DestinationConnector, dest: DestinationConfig): DestinationPlan['withdraw'] {
  if (connector.delivery === 'snapshot') return 'rewrite';
  const declared = connector.capabilities?.withdraw ?? (connector.capabilities?.delete ? 'delete' : 'none');
  const mapsConsent = !!dest.purpose && Object.values(dest.mapping ?? {}).some((v) => v.trim() === `consent.${dest.purpose}`);
  return declared === 'delete' && mapsConsent ? 'update' : declared;
}

export function planDestination(loaded: LoadedConfig, registry: PluginRegistry, dest: DestinationConfig): DestinationPlan {
  const index = loaded.config.destinations.indexOf(dest);
  const at = (...p: Array<string | number>) => ['destinations', index, ...p];
  const where = (path: Array<string | number>) => {
    const line = loaded.lineOf(path);
    return `${loaded.file}${line ? `:${line}` : ''}: ${formatPath(path)}`;
  };
  const fail = (p: Array<string | number>, message: string): never => {
    const path = at(...p);
    throw new ConfigError(`${formatPath(path)}: ${message}`, { file: loaded.file, line: loaded.lineOf(path), path: formatPath(path), sync: dest.name });
  };
  const connector = connectorFor(registry, 'destination', dest.connector, at(), loaded, dest.name);
  const config = parsePluginConfig(connector.spec.config, dest.config, at('config'), loaded, dest.name);
  const vocabulary = vocabularyOf(loaded.config);
  const warnings: string[] = [];

  let payload: CompiledPayload | undefined;
  if (dest.mapping && !connector.mapping) fail(['mapping'], `connector ${connector.id} takes no mapping: it writes whole profiles`);
  const mapping = dest.mapping ?? connector.mapping?.defaults;
  if (mapping) {
    const compiled = compilePayload(mapping, { names: connector.mapping?.names, describe: connector.mapping?.describe, vocabulary });
    for (const p of compiled.problems) {
      // Problems in the connector's defaults are about traits the user never named: only the YAML's are worth a line.
      if (!dest.mapping) continue;
      if (p.severity === 'error') fail(['mapping', p.name], p.message);
      warnings.push(`${where(at('mapping', p.name))}: ${p.message}`);
    }
    payload = compiled.payload;
  }

  let filter: CompiledWhere | undefined;
  if (dest.where) {
    try {
      filter = compileWhere(dest.where);
    } catch (err) {
      if (err instanceof WhereSyntaxError) fail(['where'], `cannot parse the filter: ${err.message}`);
      throw err;
    }
    for (const p of filter.paths) {
      const w = unknownName(p, vocabulary);
      if (w) warnings.push(`${where(at('where'))}: ${w}`);
    }
  }

  if (dest.purpose && !vocabulary.consent.has(dest.purpose)) {
    warnings.push(`${where(at('purpose'))}: no source maps consent "${dest.purpose}" (mapping.consent), so no profile holds a grant and nothing will be sent`);
  }
    if (dest.events && !connector.capabilities?.events) fail(['events'], `connector ${connector.id} does not take events`);
  const limits = connector.limits ?? {};
  return {
    dest,
    index,
    connector,
    config,
    payload,
    where: filter,
    canDelete: !!connector.capabilities?.delete,
    ...(dest.purpose ? { purpose: dest.purpose } : {}),
    withdraw: withdrawMode(connector, dest),
    sendEvents: dest.events,
    budgets: mergeBudgets(connector, dest.rateLimit, fail),
    maxBatchItems: Math.min(dest.batchSize, limits.maxBatchItems ?? Infinity),
    maxBatchBytes: Math.min(dest.maxBatchBytes ?? Infinity, limits.maxBatchBytes ?? Infinity),
    maxItemBytes: limits.maxItemBytes ?? Infinity,
    warnings,
  };
}
