import { Command } from 'commander';
import type { Booted } from '../../container.js';
import { ConfigError } from '../../errors.js';
import { startDistributed, type DistributedOptions } from '../../queue/worker.js';
import { globals, positiveInt, progressReporter, reportError, withEngine } from '../shared.js';

/**
 * Distributed mode for one process until SIGTERM or SIGINT: `tributary worker`
 * runs jobs, `tributary run` schedules and runs them, `run --scheduler-only`
 * only schedules. The same program either way: scaling out is configuration.
 */
export async function runDistributed(booted: Booted, opts: Omit<DistributedOptions, 'onProgress'> & { progressEvery: number }): Promise<void> {
  const { loaded, logger } = booted;
  const cfg = loaded.config.queue;
  if (!cfg) {
    throw new ConfigError('queue: not set; `tributary worker` needs `queue: { redis: "${REDIS_URL}" }` (docs/scaling.md)', { file: loaded.file });
  }
  const onProgress = progressReporter({ tty: false, logger, everyMs: opts.progressEvery * 1000 });
  const signals = new AbortController();
  const onSignal = (s: string) => signals.abort(s);
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const running = await startDistributed(booted, cfg, { ...opts, onProgress });
  const why = await Promise.race([
    new Promise<string>((resolve) => signals.signal.addEventListener('abort', () => resolve(String(signals.signal.reason)), { once: true })),
    running.fatal,
  ]);
  if (why instanceof Error) {
    await running.stop('credentials refused');
    throw why;
  }
  logger.info(`${why}: finishing the current batch of each running job, then stopping`);
  await running.stop(why);
  logger.info('worker stopped');
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run sync and delivery jobs from the queue (distributed mode, `queue:` in the config); SIGTERM finishes the current batch, hands the rest back and exits')
    .option('--concurrency <n>', 'jobs at once in this process (default: queue.concurrency)', positiveInt)
    .option('--shutdown-timeout <seconds>', 'on SIGTERM, wait this long for running jobs to stop', positiveInt, 60)
    .option('--progress-every <seconds>', 'log the counts of a running sync this often', positiveInt, 30)
    .option('--metrics-port <port>', 'serve Prometheus metrics of this worker on GET /metrics at this port', positiveInt)
    .option('--metrics-host <address>', 'address the metrics server listens on', '0.0.0.0')
    .action(async (opts: { concurrency?: number; shutdownTimeout: number; progressEvery: number; metricsPort?: number; metricsHost: string }, cmd: Command) => {
      try {
        await withEngine(cmd, (booted) =>
          runDistributed(booted, {
            work: true,
            schedule: false,
            concurrency: opts.concurrency,
            shutdownTimeoutMs: opts.shutdownTimeout * 1000,
            progressEvery: opts.progressEvery,
            metricsPort: opts.metricsPort,
            metricsHost: opts.metricsHost,
          }),
        );
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}
