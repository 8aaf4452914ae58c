import { dirname, resolve } from 'node:path';
import { newProfileId } from '../util/ids.js';
import type { LoadedConfig } from '../config/load.js';
import { formatPath } from '../config/load.js';
import type { ResolutionConfig, SourceConfig } from '../config/schema.js';
import { ConfigError, ConnectionError, TributaryError, errorMessage } from '../errors.js';
import type { PluginRegistry } from '../plugin/loader.js';
import type { ConnectorContext, Logger, RecordMessage, StreamState } from '../plugin/types.js';
import type { CanonicalRecord } from '../schema/canonical.js';
import { recordKey } from '../schema/canonical.js';
import { compileMapping, getPath } from '../schema/mapping.js';
import { compileBlocklist } from '../resolution/rules.js';
import type { IdentityGraph, ResolutionResult, Resolver } from '../resolution/types.js';
import type { DeadLetterInput, ProfileStore, RunSummary } from '../store/types.js';
import type { Mutex } from '../util/mutex.js';
import type { Clock } from '../tokens.js';
import { configuredStreams, connectorFor, parsePluginConfig } from './plugin-config.js';
import { ReadKeys } from './read-keys.js';
import type { Transform } from './transform.js';
import { fault, FaultInjectedError, isArmed, letSignalsIn } from '../util/fault-points.js';
import { dropSuppressed } from '../privacy/suppression-check.js';
import { inboxSeqOf } from '../store/sqlite-inbox.js';
import { formatMs } from '../config/timeouts.js';
import { withReadIdleTimeout } from './read-timeout.js';

export interface SyncDeps {
  loaded: LoadedConfig;
  store: ProfileStore;
  registry: PluginRegistry;
  resolver: Resolver;
  logger: Logger;
  clock: Clock;
  /** Serializes resolve+commit across syncs of this process: decisions read the graph they commit to. */
  resolveLock: Mutex;
  incrementalDestinations: string[];
  onProgress?: (p: { sync: string; read: number; written: number }) => void;
  /** After each committed batch, with the counts of this attempt so far. */
  onBatch?: (committed: RunSummary) => void;
  /**
   * The run's row as it stands once a batch with these counts (of this attempt) is committed: the store writes it in
   * the batch's own transaction, so the row never counts a batch that is not committed nor misses one that is.
   */
  runRow?: (committed: RunSummary) => { id: number; summary: RunSummary };
}

interface StreamPlan {
  index: number;
  name: string;
  map: ReturnType<typeof compileMapping>['map'];
  fieldsRead: Set<string>;
  transforms: Array<{ t: Transform; options: unknown }>;
  checkedFields: boolean;
  /** The stream's cursor field: among duplicates of one key, the highest value wins. */
  cursorField?: string;
}

type Pending = { msg: RecordMessage; plan: StreamPlan };

/** One run of one source: read, map, resolve, commit, checkpoint. */
export async function runSourceSync(
  deps: SyncDeps,
  source: SourceConfig,
  signal: AbortSignal,
  /** Called with what was committed when the run fails, so a retry can report the whole run. */
  onFailure?: (committed: RunSummary) => void,
): Promise<RunSummary> {
  const { loaded, store, registry, logger } = deps;
  const sIndex = loaded.config.sources.indexOf(source);
  const at = (...p: Array<string | number>) => ['sources', sIndex, ...p];
  const connector = connectorFor(registry, 'source', source.connector, at(), loaded, source.name);
  const config = parsePluginConfig(connector.spec.config, source.config, at('config'), loaded, source.name);
  const streams = configuredStreams(connector, source, sIndex, loaded);
  const plans = new Map<string, StreamPlan>();
  const blocked = compileBlocklist(loaded.config.resolution);
  source.streams.forEach((s, j) => {
    const { map, fieldsRead } = compileMapping(s.mapping, {
      source: source.name,
      stream: s.name,
      kind: s.kind,
      primaryKey: streams[j].primaryKey!,
      defaultRegion: loaded.config.normalize.defaultRegion,
      now: () => deps.clock.now().toISOString(),
      dateFormat: s.dateFormat,
      blocked,
      unidentified: unidentifiedPolicy(loaded.config.resolution.unidentified, s.kind),
    });
    const transforms = s.transforms.map((t, k) => {
      try {
        return { t: registry.transform(t.use), options: t.options };
      } catch (err) {
        throw new ConfigError(`${formatPath(at('streams', j, 'transforms', k, 'use'))}: ${(err as Error).message}`, {
          file: loaded.file,
          line: loaded.lineOf(at('streams', j, 'transforms', k, 'use')),
          sync: source.name,
        });
      }
    });
    plans.set(s.name, { index: j, name: s.name, map, fieldsRead, transforms, checkedFields: false, cursorField: streams[j].cursorField });
  });

  const summary: RunSummary = {
    streams: Object.fromEntries(
      source.streams.map((s) => [s.name, { read: 0, written: 0, deadLettered: 0, warnings: 0, duplicates: 0, cursorWarnings: 0, warningsByReason: {} }]),
    ),
    profiles: { created: 0, updated: 0, merged: 0 },
  };
  const state = await store.loadState(source.name);
  // `cursor_warnings` (tag `stream`) is how a connector says a row's cursor value was ignored by its state.
  const metrics = {
    count(name: string, value = 1, tags?: Record<string, string>) {
      const st = tags?.stream !== undefined ? summary.streams[tags.stream] : undefined;
      if (name === 'cursor_warnings' && st) st.cursorWarnings = (st.cursorWarnings ?? 0) + value;
    },
  };
  // The connector's signal also fires when its read goes idle too long (timeouts.readIdle).
  const readAbort = new AbortController();
  const idleMs = source.timeouts?.readIdle ?? loaded.config.timeouts.readIdle;
  const ctx: ConnectorContext = { name: source.name, config, logger, metrics, signal: AbortSignal.any([signal, readAbort.signal]), baseDir: dirname(resolve(loaded.file)), inbox: store.inbox };
  const readKeys = new ReadKeys();

  let pending: Pending[] = [];
  let pendingErrors: DeadLetterInput[] = [];
  let checkpoints = new Map<string, StreamState>();
  const batchSize = source.batchSize;

  /** A mapped field that no record of the first batch has is a typo in the YAML, not bad data. */
  const checkFields = (plan: StreamPlan, rows: Pending[]) => {
    const mine = rows.filter((p) => p.plan === plan).map((p) => p.msg.data);
    if (!mine.length) return;
    plan.checkedFields = true;
    for (const field of plan.fieldsRead) {
      if (mine.some((d) => getPath(d, field) !== undefined)) continue;
      const path = at('streams', plan.index, 'mapping', ...mappingPathOf(source.streams[plan.index].mapping, field));
      const known = Object.keys(mine[0]).slice(0, 20).join(', ');
      throw new ConfigError(`${formatPath(path)}: field "${field}" is not in the source data (it has: ${known})`, {
        file: loaded.file,
        line: loaded.lineOf(path),
        sync: source.name,
        stream: plan.name,
      });
    }
  };

  // Refused links per stream, and a few for the one summary line at the end of the sync.
  const refusalSample: Array<{ record: string; identifier: string; reason: string }> = [];
  let refusedTotal = 0;
  const countRefusals = (refused: Array<{ recordKey: string; identifierKey: string; reason: string }>) => {
    for (const f of refused) {
      const stream = f.recordKey.split('/')[1];
      const st = summary.streams[stream];
      if (st) st.refused = (st.refused ?? 0) + 1;
      refusedTotal++;
      // The identifier's type only: its value is personal data and the log is not the place for it.
      if (refusalSample.length < 3) refusalSample.push({ record: f.recordKey, identifier: f.identifierKey.slice(0, f.identifierKey.indexOf('\u0000')), reason: f.reason });
    }
  };

  // With a commit thread (store `commitThread`), batch N is written while batch N+1 is read and resolved.
  const pipeline = store.commitPipeline?.();
  const inFlight: Array<Promise<void>> = [];
  /**
   * The first of this run's batches the thread failed to write. Set as soon as the thread says so (the handler sits
   * on the batch's own promise), so no later batch of the run is handed over: the pipeline lets a batch start afresh
   * on the store once nothing is in flight, and a last batch holding only the read's final checkpoint would then be
   * committed, claiming as read the rows of the batch that failed.
   */
  let threadFailure: unknown;
  const settle = async () => {
    while (inFlight.length) await inFlight.shift();
  };

  let flushing = false;
  const flush = async () => {
    if (!pending.length && !pendingErrors.length && !checkpoints.size) return;
    flushing = true;
    if (!connector.drainsInbox) for (const plan of plans.values()) if (!plan.checkedFields) checkFields(plan, pending);
    const deadLetters = pendingErrors;
    const byKey = new Map<string, CanonicalRecord>();
    for (const { msg, plan } of pending) {
      const stats = summary.streams[plan.name];
      const dead = (reason: string, recordId?: string) => {
        stats.deadLettered++;
        deadLetters.push({ sync: source.name, stream: plan.name, recordId, origin: msg.origin, reason, payload: msg.data });
      };
      const mapped = plan.map(msg.data);
      if (!mapped.ok) {
        dead(mapped.reason, mapped.recordId);
        continue;
      }
      let record: CanonicalRecord | null = mapped.record;
      try {
        for (const { t, options } of plan.transforms) {
          record = t.apply(record, options);
          if (!record) break;
        }
      } catch (err) {
        dead(`transform: ${errorMessage(err)}`, mapped.record.recordId);
        continue;
      }
      if (!record) continue;
      // The same key twice in one read: the highest cursor wins, then the later row (in this batch or an earlier one).
      const key = recordKey(record);
      const seen = readKeys.see(key, plan.cursorField ? getPath(msg.data, plan.cursorField) : undefined);
      if (seen === 'new' && !byKey.has(key)) stats.written++;
      else stats.duplicates = (stats.duplicates ?? 0) + 1;
      if (seen === 'older') continue;
      if (record.warnings) {
        stats.warnings += record.warnings.length;
        const by = (stats.warningsByReason ??= {});
        for (const w of record.warnings) by[w.reason] = (by[w.reason] ?? 0) + 1;
      }
      byKey.set(key, record);
    }
    let records = [...byKey.values()];
    const cps = [...checkpoints].map(([stream, s]) => ({ stream, state: s }));
    const started = Date.now();
    const resolveBatch = async (graph: IdentityGraph) => {
      fault('resolve.inside-lock');
      // Under the write lock, so a forget committed meanwhile is seen: a forgotten person is never stored again.
      records = await dropSuppressed({ store, summary, region: loaded.config.normalize.defaultRegion }, records, deadLetters);
      const resolution = records.length
        ? await deps.resolver.resolve({ logger, rules: loaded.config.resolution, now: () => deps.clock.now(), newProfileId }, records, graph)
        : emptyResolution();
      for (const g of resolution.genericValues) logger.warn('identifier stopped linking: used by too many profiles', { identifier: g.identifierKey.replace('\u0000', ':'), profiles: g.profiles });
      countRefusals(resolution.refused);
      return resolution;
    };
    const countProfiles = (into: RunSummary, resolution: ResolutionResult) => {
      into.profiles.merged += new Set(resolution.merges.map((m) => m.absorbed)).size;
      for (const p of resolution.profiles) {
        if (p.createdAt === p.updatedAt) into.profiles.created++;
        else into.profiles.updated++;
      }
    };
    /** The counts as they stand with this batch: what the run has committed once it is. */
    const withBatch = (resolution: ResolutionResult) => {
      const committed = structuredClone(summary);
      countProfiles(committed, resolution);
      return committed;
    };
    const batchOf = (resolution: ResolutionResult, committed: RunSummary) => ({
      sync: source.name,
      records,
      resolution,
      deadLetters,
      checkpoints: cps,
      destinations: deps.incrementalDestinations,
      run: deps.runRow?.(committed),
    });
    const afterCommit = async (committed: RunSummary, count: number, dead: number) => {
      fault('batch.after-commit');
      if (connector.drainsInbox) await releaseInbox(store, source.name, cps, logger);
      const totals = Object.values(committed.streams).reduce((a, s) => ({ read: a.read + s.read, written: a.written + s.written }), { read: 0, written: 0 });
      logger.debug('batch committed', { sync: source.name, records: count, deadLetters: dead, ms: Date.now() - started, read: totals.read, written: totals.written });
      for (const c of cps) logger.debug('checkpoint saved', { sync: source.name, stream: c.stream, state: c.state });
      deps.onBatch?.(committed);
      deps.onProgress?.({ sync: source.name, ...totals });
    };
    if (pipeline) {
      // One batch in flight while this one is resolved; the one before it must be committed by now.
      const held = performance.now();
      while (inFlight.length > 1) await inFlight.shift();
      pipeline.stats.heldMs += performance.now() - held;
      if (fault('batch.before-resolve')) await letSignalsIn();
      let done!: Promise<number>;
      let committed!: RunSummary;
      await deps.resolveLock.run(async () => {
        if (threadFailure) throw threadFailure;
        const base = pipeline.begin();
        const resolution = await resolveBatch(pipeline.view(store));
        committed = withBatch(resolution);
        countProfiles(summary, resolution);
        done = pipeline.submit(batchOf(resolution, committed), base);
        done.catch((err: unknown) => (threadFailure ??= err));
      });
      const count = records.length;
      const previous = inFlight.at(-1) ?? Promise.resolve();
      const tail = previous.then(() => done).then(() => afterCommit(committed, count, deadLetters.length));
      tail.catch(() => undefined); // awaited later; a failure must not count as unhandled meanwhile
      inFlight.push(tail);
    } else {
      let committed!: RunSummary;
      await deps.resolveLock.run(() =>
        store.exclusive(async () => {
          const resolution = await resolveBatch(store);
          committed = withBatch(resolution);
          await store.commitBatch(batchOf(resolution, committed));
          countProfiles(summary, resolution);
        }),
      );
      await afterCommit(committed, records.length, deadLetters.length);
    }
    pending = [];
    pendingErrors = [];
    checkpoints = new Map();
    flushing = false;
  };

  // Reached once per row: asked once here, so an unarmed run pays a local boolean per row, not a call.
  const rowFault = isArmed('read.after-record');
  try {
    const idle = () =>
      new ConnectionError(
        `${registry.describe('source', connector.id)} yielded nothing for ${formatMs(idleMs)} (timeouts.readIdle); the read was stopped and the sync failed, the next run resumes from the last committed checkpoint`,
        { sync: source.name },
        { retryable: false },
      );
    for await (const msg of withReadIdleTimeout(connector.read(ctx, streams, state), idleMs, readAbort, idle)) {
      const plan = plans.get(msg.stream);
      if (!plan) throw new ConfigError(`connector ${connector.id} yielded a message for unknown stream "${msg.stream}"`, { sync: source.name });
      if (msg.type === 'record') {
        summary.streams[plan.name].read++;
        pending.push({ msg, plan });
        // Records past 4x the batch with no checkpoint in sight are committed anyway: re-reading them is idempotent.
        if (pending.length >= batchSize * 4) await flush();
      } else if (msg.type === 'error') {
        summary.streams[plan.name].read++;
        summary.streams[plan.name].deadLettered++;
        pendingErrors.push({ sync: source.name, stream: plan.name, origin: msg.origin, reason: msg.reason, payload: msg.raw ?? null });
      } else {
        checkpoints.set(msg.stream, msg.state);
        if (pending.length >= batchSize) await flush();
      }
      // A test's stop between checkpoints: paused here, the SIGTERM sent meanwhile is seen by the check below.
      if (rowFault && msg.type !== 'state' && fault('read.after-record')) await letSignalsIn();
      if (signal.aborted) break;
    }
    await flush();
    await settle();
    if (refusedTotal) {
      logger.warn('identifier links refused (see `tributary profiles refusals`)', { sync: source.name, refused: refusedTotal, sample: refusalSample });
    }
  } catch (err) {
    // Batches already handed to the commit thread are written (or fail) before the run reports.
    await Promise.allSettled(inFlight);
    onFailure?.(summary);
    if (err instanceof TributaryError) throw err;
    // Only what the connector threw may be a flaky server; a failure while resolving or committing is not retried.
    if (flushing) throw new TributaryError(`resolving or storing a batch failed: ${errorMessage(err)}`, { sync: source.name }, { cause: err });
    // A test's fault in the read loop (read.after-record) fails the run as at every other point, not as a flaky source.
    if (err instanceof FaultInjectedError) throw new TributaryError(errorMessage(err), { sync: source.name }, { cause: err });
    throw new ConnectionError(`source ${source.name} (${connector.id}) failed: ${errorMessage(err)}`, { sync: source.name }, { cause: err });
  }
  return summary;
}

/** Where in a stream's mapping a source field is named, for pointing at the exact YAML line. */
function mappingPathOf(mapping: SourceConfig['streams'][number]['mapping'], field: string): string[] {
  for (const [k, v] of Object.entries(mapping.identifiers)) {
    if (v === field) return ['identifiers', k];
    if (typeof v === 'object' && v.field === field) return ['identifiers', k, 'field'];
    if (typeof v === 'object' && v.regionField === field) return ['identifiers', k, 'regionField'];
  }
  for (const [k, v] of Object.entries(mapping.traits)) if (v === field) return ['traits', k];
  if (mapping.observedAt === field) return ['observedAt'];
  for (const [k, v] of Object.entries(mapping.consent ?? {})) if (v === field) return ['consent', k];
  if (mapping.event) {
    for (const [k, v] of Object.entries(mapping.event.properties)) if (v === field) return ['event', 'properties', k];
    for (const k of ['revenue', 'currency', 'nameField'] as const) if (mapping.event[k] === field) return ['event', k];
  }
  return [];
}

/** Drained inbox rows go once their checkpoint is committed; a crash before this only leaves rows the checkpoint already skips. */
async function releaseInbox(store: ProfileStore, source: string, cps: Array<{ stream: string; state: StreamState }>, logger: Logger) {
  if (!store.inbox) return;
  for (const c of cps) {
    const seq = inboxSeqOf(c.state);
    if (seq === undefined) continue;
    await store.inbox.release(source, c.stream, seq).catch((err) => logger.warn(`sync ${source}: cannot clean drained inbox rows: ${errorMessage(err)}`));
  }
}

/** `resolution.unidentified` for one stream: one value for both kinds, or per kind. */
function unidentifiedPolicy(policy: ResolutionConfig['unidentified'], kind: 'identify' | 'track'): 'profile' | 'dead-letter' {
  return typeof policy === 'string' ? policy : policy[kind];
}

function emptyResolution() {
  return {
    assignments: new Map<string, string>(),
    links: [],
    identifierOwners: new Map<string, string>(),
    merges: [],
    refused: [],
    profiles: [],
    genericValues: [],
    presented: [] as Array<[string, string]>,
  };
}
