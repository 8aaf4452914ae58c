import { inject, injectable } from 'inversify';
import { ConfigError, ConnectionError, TributaryError, errorMessage } from '../errors.js';
import { backoffDelay, sleep } from './retry.js';
import type { LoadedConfig } from '../config/load.js';
import type { PluginRegistry } from '../plugin/loader.js';
import type { Logger } from '../plugin/types.js';
import type { Resolver } from '../resolution/types.js';
import type { ProfileStore, RunSummary } from '../store/types.js';
import { TOKENS, type Clock } from '../tokens.js';
import { Mutex } from '../util/mutex.js';
import { Redactor } from '../util/logger.js';
import { deliver, type DeliverySummary } from './deliver.js';
import { runSourceSync } from './sync-runner.js';
import { rebuildResolution, type RebuildReport } from '../resolution/rebuild.js';

export interface SyncOutcome {
  sync: string;
  ok: boolean;
  runId: number;
  summary?: RunSummary;
  error?: string;
  skipped?: 'already-running';
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Deliver to `after-sync` destinations when the sync succeeds (default true). */
  deliverAfter?: boolean;
  onProgress?: (p: { sync: string; read: number; written: number }) => void;
}

/** Counts of several attempts of one run, added up (an attempt that failed still committed its batches). */
function addSummaries(parts: RunSummary[]): RunSummary {
  const out: RunSummary = { streams: {}, profiles: { created: 0, updated: 0, merged: 0 } };
  for (const p of parts) {
    for (const [name, st] of Object.entries(p.streams)) {
      const o = (out.streams[name] ??= { read: 0, written: 0, deadLettered: 0, warnings: 0, duplicates: 0, cursorWarnings: 0, warningsByReason: {} });
      o.read += st.read;
      o.written += st.written;
      o.deadLettered += st.deadLettered;
      o.warnings += st.warnings;
      o.duplicates = (o.duplicates ?? 0) + (st.duplicates ?? 0);
      o.cursorWarnings = (o.cursorWarnings ?? 0) + (st.cursorWarnings ?? 0);
      for (const [reason, n] of Object.entries(st.warningsByReason ?? {})) (o.warningsByReason ??= {})[reason] = (o.warningsByReason?.[reason] ?? 0) + n;
    }
    out.profiles.created += p.profiles.created;
    out.profiles.updated += p.profiles.updated;
    out.profiles.merged += p.profiles.merged;
  }
  return out;
}

@injectable()
export class Engine {
  private readonly running = new Set<string>();
  private readonly resolveLock = new Mutex();
  private redactorCache?: Redactor;

  /** Errors reach run history and the terminal; a connector may have put a secret in one. */
  private get redactor(): Redactor {
    return (this.redactorCache ??= new Redactor(this.loaded.secrets));
  }

  constructor(
    @inject(TOKENS.LoadedConfig) private readonly loaded: LoadedConfig,
    @inject(TOKENS.ProfileStore) private readonly store: ProfileStore,
    @inject(TOKENS.PluginRegistry) private readonly registry: PluginRegistry,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Clock) private readonly clock: Clock,
  ) {}

  get config() {
    return this.loaded.config;
  }

  private resolver(): Resolver {
    try {
      return this.registry.resolver(this.loaded.config.resolution.resolver);
    } catch (err) {
      throw new ConfigError(`resolution.resolver: ${(err as Error).message}`, {
        file: this.loaded.file,
        line: this.loaded.lineOf(['resolution', 'resolver']),
      });
    }
  }

  private incrementalDestinations(): string[] {
    return this.loaded.config.destinations
      .filter((d) => {
        try {
          return this.registry.destination(d.connector).delivery === 'incremental';
        } catch {
          return true; // unknown connector: keep its outbox so nothing is lost once it is fixed
        }
      })
      .map((d) => d.name);
  }

  /** Run one source once. A sync already running in this process is skipped, never run twice at once. */
  async runSync(name: string, opts: RunOptions = {}): Promise<SyncOutcome> {
    const source = this.loaded.config.sources.find((s) => s.name === name);
    if (!source) {
      const known = this.loaded.config.sources.map((s) => s.name).join(', ') || 'none';
      throw new ConfigError(`no source named "${name}" (sources: ${known})`, { file: this.loaded.file });
    }
    if (this.running.has(name)) {
      this.logger.warn(`sync ${name} is still running; this run is skipped`);
      return { sync: name, ok: true, runId: -1, skipped: 'already-running' };
    }
    this.running.add(name);
    const signal = opts.signal ?? new AbortController().signal;
    const log = this.logger;
    let runId = -1;
    try {
      runId = await this.store.startRun(name, 'sync');
      const deps = {
        loaded: this.loaded,
        store: this.store,
        registry: this.registry,
        resolver: this.resolver(),
        logger: log,
        clock: this.clock,
        resolveLock: this.resolveLock,
        incrementalDestinations: this.incrementalDestinations(),
        onProgress: opts.onProgress,
      };
      // A server that drops us is retried with backoff; each attempt resumes from the last committed checkpoint.
      let summary: RunSummary | undefined;
      const earlier: RunSummary[] = [];
      for (let attempt = 0; ; attempt++) {
        try {
          summary = addSummaries([...earlier, await runSourceSync(deps, source, signal, (partial) => earlier.push(partial))]);
          break;
        } catch (err) {
          const retryable = err instanceof ConnectionError && err.retryable;
          if (!retryable || attempt + 1 >= source.retry.attempts || signal.aborted) throw err;
          const delay = backoffDelay(source.retry, attempt);
          log.warn(`sync ${name}: ${errorMessage(err)}; retrying in ${delay} ms (attempt ${attempt + 2} of ${source.retry.attempts})`);
          await sleep(delay, signal);
        }
      }
      if (opts.deliverAfter !== false && !signal.aborted) {
        summary.destinations = {};
        for (const d of this.loaded.config.destinations.filter((x) => x.trigger === 'after-sync')) {
          summary.destinations[d.name] = await this.deliverTo(d.name, signal);
        }
      }
      await this.store.finishRun(runId, 'succeeded', summary);
      return { sync: name, ok: true, runId, summary };
    } catch (err) {
      const message = this.redactor.redact(errorMessage(err));
      if (runId >= 0) await this.store.finishRun(runId, 'failed', undefined, message).catch(() => undefined);
      if (!(err instanceof TributaryError)) log.error(`sync ${name} failed`, { error: message });
      return { sync: name, ok: false, runId, error: message };
    } finally {
      this.running.delete(name);
    }
  }

  async deliverTo(name: string, signal: AbortSignal = new AbortController().signal): Promise<DeliverySummary> {
    const dest = this.loaded.config.destinations.find((d) => d.name === name);
    if (!dest) throw new ConfigError(`no destination named "${name}"`, { file: this.loaded.file });
    const runId = await this.store.startRun(name, 'deliver');
    try {
      const stats = await deliver({ loaded: this.loaded, store: this.store, registry: this.registry, logger: this.logger }, dest, signal);
      await this.store.finishRun(runId, 'succeeded', { streams: {}, profiles: { created: 0, updated: 0, merged: 0 }, destinations: { [name]: stats } });
      return stats;
    } catch (err) {
      await this.store.finishRun(runId, 'failed', undefined, this.redactor.redact(errorMessage(err)));
      throw err;
    }
  }

  /** Re-run identity resolution over every stored record with the current rules. */
  async rebuild(dryRun: boolean): Promise<RebuildReport> {
    return this.resolveLock.run(async () => {
      const runId = dryRun ? -1 : await this.store.startRun('resolution', 'rebuild');
      try {
        const report = await rebuildResolution({
          store: this.store,
          resolver: this.resolver(),
          rules: this.loaded.config.resolution,
          logger: this.logger,
          dryRun,
          destinations: this.incrementalDestinations(),
          now: () => this.clock.now(),
        });
        if (!dryRun) {
          await this.store.finishRun(runId, 'succeeded', {
            streams: {},
            profiles: { created: 0, updated: report.profilesAfter, merged: report.merges.reduce((a, m) => a + m.absorb.length, 0) },
          });
        }
        return report;
      } catch (err) {
        if (!dryRun) await this.store.finishRun(runId, 'failed', undefined, errorMessage(err));
        throw err;
      }
    });
  }

  isRunning(name: string): boolean {
    return this.running.has(name);
  }
}
