import type { LoadedConfig } from '../../core/config/load.js';
import { ConfigError } from '../../core/errors.js';
import { parsePluginConfig } from '../../core/engine/plugin-config.js';
import type { ProfileStore } from '../../core/store/types.js';
import { recordKey } from '../../core/schema/canonical.js';
import { probabilisticSchema, type ProbabilisticConfig } from './config.js';
import { checkBlockingSize, estimatePairs } from './blocking.js';
import { prepareRecords, train, type MatchModel, type PreparedRecord, type TrainResult } from './model.js';
import { RESOLVER_ID } from './resolver.js';

/** What `resolve --train` needs of a store beyond ProfileStore (the SQLite store has it). */
export interface MatchModelStore extends ProfileStore {
  saveMatchModel(resolver: string, trainedAt: string, body: (version: number) => string): Promise<number>;
  saveBlockingKeys(entries: Array<[string, string[]]>): Promise<void>;
}

export function isMatchModelStore(s: ProfileStore): s is MatchModelStore {
  return typeof (s as Partial<MatchModelStore>).saveMatchModel === 'function' && typeof (s as Partial<MatchModelStore>).saveBlockingKeys === 'function';
}

/** Traits some stream maps (top-level names: `address` covers `address.postcode`). */
function mappedTraits(loaded: LoadedConfig): Set<string> {
  const out = new Set<string>();
  for (const s of loaded.config.sources) for (const st of s.streams) for (const t of Object.keys(st.mapping.traits)) out.add(t.split('.')[0]);
  return out;
}

/**
 * `resolution.probabilistic` checked against its schema and against the mappings:
 * a comparison or blocking part on a trait that no source maps is an error naming
 * its YAML line (it could never find evidence, and would silently weigh nothing).
 */
export function loadProbabilisticConfig(loaded: LoadedConfig): ProbabilisticConfig {
  const at = ['resolution', 'probabilistic'];
  if (loaded.config.resolution.probabilistic === undefined) {
    throw new ConfigError('resolution.probabilistic: missing (comparisons and blocking rules of the probabilistic resolver)', {
      file: loaded.file,
      line: loaded.lineOf(['resolution']),
      path: 'resolution.probabilistic',
    });
  }
  const cfg = parsePluginConfig(probabilisticSchema, loaded.config.resolution.probabilistic, at, loaded);
  const mapped = mappedTraits(loaded);
  const fail = (path: Array<string | number>, trait: string) => {
    const p = [...at, ...path];
    throw new ConfigError(`${p.join('.')}: trait "${trait}" is not mapped by any source stream (mapped: ${[...mapped].sort().join(', ') || 'none'})`, {
      file: loaded.file,
      line: loaded.lineOf(p),
      path: p.join('.'),
    });
  };
  cfg.comparisons.forEach((c, i) => {
    if (!mapped.has(c.trait.split('.')[0])) fail(['comparisons', i, 'trait'], c.trait);
  });
  cfg.blocking.forEach((r, i) =>
    r.on.forEach((p, j) => {
      if (!mapped.has(p.trait.split('.')[0])) fail(['blocking', i, 'on', j], p.trait);
    }),
  );
  return cfg;
}

export interface TrainOutcome extends TrainResult {
  records: number;
  seconds: number;
  /** The version saved, or undefined when EM did not converge (the previous model stays). */
  saved?: number;
  previous?: number;
  unexpectedValues: number;
}

/** Every stored identify record, prepared for comparison. */
export async function preparedFromStore(store: ProfileStore, cfg: ProbabilisticConfig): Promise<{ records: PreparedRecord[]; unexpected: number }> {
  const records: PreparedRecord[] = [];
  let unexpected = 0;
  for await (const page of store.iterateRecords(5000)) {
    const p = prepareRecords(
      page.filter((r) => r.kind === 'identify').map((r) => ({ key: recordKey(r), traits: r.traits })),
      cfg,
    );
    records.push(...p.records);
    unexpected += p.unexpected;
  }
  return { records, unexpected };
}

/**
 * Estimate a new model from the stored records. Saved as the next version only when
 * EM converged (and `save` is set); otherwise the previous model stays in force.
 * Saving also (re)files every record's blocking keys, so records stored before the
 * probabilistic resolver was switched on are found as candidates.
 */
export async function trainFromStore(store: MatchModelStore, cfg: ProbabilisticConfig, opts: { save: boolean; now?: Date }): Promise<TrainOutcome> {
  const t0 = process.hrtime.bigint();
  const { records, unexpected } = await preparedFromStore(store, cfg);
  if (records.length < 2) throw new ConfigError(`resolve --train: ${records.length} stored identify record(s); at least 2 are needed to estimate a model`);
  checkBlockingSize(estimatePairs(records.map((r) => r.blockingKeys)), records.length, cfg.maxPairs);
  const previous = (await store.latestMatchModel?.(RESOLVER_ID))?.version;
  const result = train(records, cfg, (previous ?? 0) + 1, opts.now);
  let saved: number | undefined;
  if (opts.save && result.model.converged) {
    await store.saveBlockingKeys(records.map((r) => [r.key, r.blockingKeys]));
    saved = await store.saveMatchModel(RESOLVER_ID, result.model.trainedAt, (version) => JSON.stringify({ ...result.model, version } satisfies MatchModel));
    result.model.version = saved;
  }
  return { ...result, records: records.length, seconds: Number(process.hrtime.bigint() - t0) / 1e9, saved, previous, unexpectedValues: unexpected };
}
