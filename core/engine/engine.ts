import { inject, injectable } from 'inversify';
import { ConfigError, ConnectionError, TributaryError, errorMessage } from '../errors.js';
import { backoffDelay, sleep } from './retry.js';
import type { LoadedConfig } from '../config/load.js';
import type { PluginRegistry } from '../plugin/loader.js';
import type { Logger } from '../plugin/types.js';
import type { Resolver } from '../resolution/types.js';
import type { ProfileStore, RunRecord, RunSummary } from '../store/types.js';
import { TOKENS, type Clock } from '../tokens.js';
import { Mutex } from '../util/mutex.js';
import { Redactor } from '../util/logger.js';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { deliver, DeliveryIncompleteError, type DeliverOptions } from '../delivery/deliver.js';
import { planDestination, type DestinationPlan } from '../delivery/plan.js';
import { realClock, type DeliveryClock, type RateGateFactory } from '../delivery/rate-limit.js';
import { emptyCounts } from '../delivery/send.js';
import type { DeliveryCounts } from '../store/types.js';
import { runSourceSync } from './sync-runner.js';
import { rebuildResolution, type RebuildReport } from '../resolution/rebuild.js';

export interface SyncOutcome {
  sync: string;
  ok: boolean;
  runId: number;
  /** What the run committed (also when it failed or was interrupted part way). */
  summary?: RunSummary;
  error?: string;
  skipped?: 'already-running';
  /** Stopped by its abort signal (SIGTERM, SIGINT) before the end: recorded as `interrupted`; the next run resumes. */
  interrupted?: boolean;
}

/** A running run writes a heartbeat this often, besides its counts after every batch. */
export const HEARTBEAT_MS = 30_000;
/** A run of another host with no heartbeat for this long is taken to be dead. */
export const STALE_RUN_MS = 10 * 60_000;

/** Whether a process of this host is alive; EPERM means it is, but not ours to signal. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why a signal stopped a run, for its record: `SIGTERM`, or the reason the caller gave. */
function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (typeof r === 'string') return r;
  return r instanceof Error && r.name !== 'AbortError' ? r.message : 'abort';
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
      if (st.suppressed) o.suppressed = (o.suppressed ?? 0) + st.suppressed;
      if (st.refused) o.refused = (o.refused ?? 0) + st.refused;
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
  private readonly delivering = new Set<string>();
  private readonly plans = new Map<string, DestinationPlan>();
  /** Who this process is when it holds a lease. */
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly resolveLock = new Mutex();
  private redactorCache?: Redactor;
  /** Set by distributed mode (core/queue/worker.ts): delivery budgets shared by every worker. */
  private rateGates?: RateGateFactory;

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

  /** Distributed mode: every later delivery of this process takes its rate budget from `gates`. */
  useRateGates(gates: RateGateFactory | undefined): void {
    this.rateGates = gates;
  }

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
    const earlier: RunSummary[] = [];
    let live: RunSummary | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    try {
      await this.interruptAbandonedRuns();
      runId = await this.store.startRun(name, 'sync');
      const id = runId;
      const beat = (summary?: RunSummary) =>
        this.store.updateRun(id, summary).catch((err) => log.warn(`sync ${name}: cannot record the run's progress: ${errorMessage(err)}`));
      heartbeat = setInterval(() => void beat(), HEARTBEAT_MS);
      heartbeat.unref();
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
        // The run's row is written with each batch, in its transaction (sync-runner.ts, runRow); the heartbeat stays.
        runRow: (committed: RunSummary) => ({ id, summary: addSummaries([...earlier, committed]) }),
        onBatch: (committed: RunSummary) => {
          live = addSummaries([...earlier, committed]);
        },
      };
      // A server that drops us is retried with backoff; each attempt resumes from the last committed checkpoint.
      let summary: RunSummary | undefined;
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
      if (signal.aborted) return await this.interrupted(name, runId, summary, signal);
      if (opts.deliverAfter !== false) {
        summary.destinations = {};
        for (const d of this.loaded.config.destinations.filter((x) => x.trigger === 'after-sync')) {
          // A delivery that fails does not undo the sync: its counts and error are reported with it.
          const r: { counts: DeliveryCounts; error?: string } = await this.deliverTo(d.name, signal).then(
            (counts) => ({ counts }),
            (err: unknown) => ({ counts: err instanceof DeliveryIncompleteError ? err.counts : emptyCounts(), error: this.redactor.redact(errorMessage(err)) }),
          );
          summary.destinations[d.name] = r.error ? { ...r.counts, error: r.error } : r.counts;
          if (r.error) log.error(`destination ${d.name}: ${r.error}`);
        }
      }
      await this.store.finishRun(runId, 'succeeded', summary);
      return { sync: name, ok: true, runId, summary };
    } catch (err) {
      const message = this.redactor.redact(errorMessage(err));
      const committed = earlier.length ? addSummaries(earlier) : live;
      // A failure caused by the abort (a source that throws when its read is cut) is an interruption, not an error.
      if (signal.aborted && runId >= 0) return await this.interrupted(name, runId, committed, signal);
      if (runId >= 0) await this.store.finishRun(runId, 'failed', committed, message).catch(() => undefined);
      if (!(err instanceof TributaryError)) log.error(`sync ${name} failed`, { error: message });
      return { sync: name, ok: false, runId, error: message, summary: committed };
    } finally {
      clearInterval(heartbeat);
      this.running.delete(name);
    }
  }

  /** Record a run its signal stopped: `interrupted`, with what it committed. */
  private async interrupted(name: string, runId: number, summary: RunSummary | undefined, signal: AbortSignal): Promise<SyncOutcome> {
    const error = `interrupted by ${abortReason(signal)}; the next run resumes from the last committed checkpoint`;
    await this.store.finishRun(runId, 'interrupted', summary, error).catch((err) => this.logger.warn(`cannot record run #${runId}: ${errorMessage(err)}`));
    return { sync: name, ok: false, runId, summary, error, interrupted: true };
  }

  /**
   * Runs left `running` by a process that died (SIGKILL, a crash, a power cut) are
   * marked `interrupted`. Called before each run and by `status`.
   */
  async interruptAbandonedRuns(): Promise<RunRecord[]> {
    const gone = await this.store.interruptAbandonedRuns({ isAlive: processAlive, staleMs: STALE_RUN_MS });
    for (const r of gone) this.logger.warn(`run #${r.id} (${r.kind} ${r.name}) was ${r.error}`);
    return gone;
  }

  /** The checked plan of a destination (connector, mapping, filter, budgets), built once. */
  destinationPlan(name: string): DestinationPlan {
    const dest = this.loaded.config.destinations.find((d) => d.name === name);
    if (!dest) {
      const known = this.loaded.config.destinations.map((d) => d.name).join(', ') || 'none';
      throw new ConfigError(`no destination named "${name}" (destinations: ${known})`, { file: this.loaded.file });
    }
    let plan = this.plans.get(name);
    if (!plan) {
      plan = planDestination(this.loaded, this.registry, dest);
      for (const w of plan.warnings) this.logger.warn(w);
      this.plans.set(name, plan);
    }
    return plan;
  }

  private deliveryClock(): DeliveryClock {
    const c = this.clock;
    return { now: () => c.now().getTime(), sleep: c.sleep ? (ms, sig) => c.sleep!(ms, sig) : realClock.sleep };
  }

  /**
   * Deliver to one destination now. Never twice at once for one destination:
   * in this process (a set) and across processes (a lease in the store, renewed
   * while the delivery runs; a holder whose process died is taken over).
   */
  async deliverTo(name: string, signal: AbortSignal = new AbortController().signal, opts: DeliverOptions = {}): Promise<DeliveryCounts> {
    const plan = this.destinationPlan(name);
    const lease = `deliver:${name}`;
    const ttl = 60_000;
    if (this.delivering.has(name)) throw new ConnectionError(`destination ${name} is already being delivered by this process`, { sync: name }, { retryable: false });
    const held = await this.store.delivery.acquireLease(lease, this.owner, ttl);
    if (held) throw new ConnectionError(`destination ${name} is already being delivered (${held.holder}); this run is skipped`, { sync: name }, { retryable: false });
    this.delivering.add(name);
    const renew = setInterval(() => void this.store.delivery.renewLease(lease, this.owner, ttl).catch(() => undefined), ttl / 3);
    renew.unref();
    const runId = await this.store.startRun(name, 'deliver');
    const summary = (counts: DeliveryCounts): RunSummary => ({ streams: {}, profiles: { created: 0, updated: 0, merged: 0 }, destinations: { [name]: counts } });
    try {
      const counts = await deliver(
        {
          store: this.store,
          logger: this.logger,
          clock: this.deliveryClock(),
          baseDir: dirname(resolve(this.loaded.file)),
          writeTimeoutMs: this.loaded.config.timeouts.write,
          describeConnector: (id) => this.registry.describe('destination', id),
          rateGate: this.rateGates,
        },
        plan,
        signal,
        opts,
      );
      if (signal.aborted) {
        // Stopped between batches: what was sent is settled, the rest stays queued for the next delivery.
        await this.store.finishRun(runId, 'interrupted', summary(counts), `interrupted by ${abortReason(signal)}; the queue keeps what was not delivered`);
      } else await this.store.finishRun(runId, 'succeeded', summary(counts));
      return counts;
    } catch (err) {
      const counts = err instanceof DeliveryIncompleteError ? err.counts : undefined;
      await this.store.finishRun(runId, 'failed', counts ? summary(counts) : undefined, this.redactor.redact(errorMessage(err)));
      throw err;
    } finally {
      clearInterval(renew);
      this.delivering.delete(name);
      await this.store.delivery.releaseLease(lease, this.owner).catch(() => undefined);
    }
  }

  /** Re-run identity resolution over every stored record with the current rules. */
  async rebuild(dryRun: boolean): Promise<RebuildReport> {
    if (!dryRun) await this.interruptAbandonedRuns();
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
