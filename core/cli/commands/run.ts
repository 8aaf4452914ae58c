import { Command } from 'commander';
import cron from 'node-cron';
import type { SyncOutcome } from '../../engine/engine.js';
import { ConfigError, errorMessage } from '../../errors.js';
import { formatDuration } from './inspect.js';
import { eventDestinations, retentionTargets, runRetention } from '../../privacy/retention.js';
import { startServer } from './serve.js';
import { runDistributed } from './worker.js';
import { countsLine, globals, positiveInt, progressReporter, reportError, withEngine } from '../shared.js';

/** ` next run at 2026-01-01T00:05:00.000Z` for a task that has one. */
function nextRun(task: { getNextRun(): Date | null }): string {
  const next = task.getNextRun();
  return next ? `; next run at ${next.toISOString()}` : '';
}

/** How one scheduled sync ended, on one log line. */
export function outcomeLine(o: SyncOutcome, ms: number): string {
  const took = formatDuration(ms);
  const counts = o.summary ? countsLine(o.summary) : 'nothing committed';
  if (o.ok) return `sync ${o.sync} done in ${took} (run #${o.runId}): ${counts}`;
  if (o.interrupted) return `sync ${o.sync} interrupted after ${took} (run #${o.runId}): ${counts}; ${o.error}`;
  return `sync ${o.sync} failed after ${took} (run #${o.runId}): ${o.error}; ${counts}`;
}

/** The daemon: every source and scheduled destination on its cron, until SIGTERM. */
export function runCommand(): Command {
  return new Command('run')
    .description('Run syncs on their schedules until stopped; SIGTERM finishes the current batch, commits and exits')
    .option('--progress-every <seconds>', 'log the counts of a running sync this often', positiveInt, 30)
    .option('--serve', 'also run `tributary serve` (tracking API, webhooks) in this process')
    .option('--scheduler-only', 'distributed mode (`queue:` set): only put the schedules on the queue; `tributary worker` processes run the jobs')
    .action(async (opts: { progressEvery: number; serve?: boolean; schedulerOnly?: boolean }, cmd: Command) => {
      try {
        await withEngine(cmd, async (booted) => {
          // Distributed mode (issue 15): BullMQ job schedulers instead of node-cron; see core/queue.
          if (booted.loaded.config.queue) {
            const server = opts.serve ? await startServer(booted, {}) : undefined;
            try {
              return await runDistributed(booted, { work: !opts.schedulerOnly, schedule: true, progressEvery: opts.progressEvery });
            } finally {
              await server?.close();
            }
          }
          if (opts.schedulerOnly) throw new ConfigError('--scheduler-only needs `queue: { redis: ... }` in the config (distributed mode, docs/scaling.md)', { file: booted.loaded.file });
          const { engine, logger, store } = booted;
          const server = opts.serve ? await startServer(booted, {}) : undefined;
          const controller = new AbortController();
          const tasks: Array<{ stop(): void | Promise<void> }> = [];
          const active = new Set<Promise<unknown>>();
          const track = (p: Promise<unknown>) => {
            active.add(p);
            void p.finally(() => active.delete(p));
          };
          // A daemon's stderr is a log (journald, docker): progress as lines, never rewritten in place.
          const onProgress = progressReporter({ tty: false, logger, everyMs: opts.progressEvery * 1000 });
          for (const s of engine.config.sources) {
            if (!s.schedule) continue;
            const task = cron.schedule(
              s.schedule,
              () => {
                if (engine.isRunning(s.name)) {
                  logger.info(`sync ${s.name} is still running; this slot is skipped${nextRun(task)}`);
                  return;
                }
                logger.info(`sync ${s.name} started`);
                const started = Date.now();
                // Engine.runSync also skips a sync that is still running, so runs never overlap.
                const p = engine
                  .runSync(s.name, { signal: controller.signal, onProgress })
                  .then((o) => {
                    if (o.skipped) return;
                    const undelivered = o.interrupted ? engine.config.destinations.filter((d) => d.trigger === 'after-sync').map((d) => d.name) : [];
                    const skipped = undelivered.length ? `; not delivered: ${undelivered.join(', ')} (they run after the next sync that completes)` : '';
                    const line = `${outcomeLine(o, Date.now() - started)}${skipped}${controller.signal.aborted ? '' : nextRun(task)}`;
                    if (o.ok) logger.info(line);
                    else if (o.interrupted) logger.warn(line);
                    else logger.error(line);
                    // Retention of this source's track records, after each sync that completed (issue 12).
                    if (o.ok && !controller.signal.aborted) {
                      return runRetention(store, retentionTargets(engine.config, new Date(), s.name), { eventDestinations: eventDestinations(engine.config), computed: engine.config.resolution.computed }).then((r) => {
                        for (const x of r) if (x.expired) logger.info(`retention ${x.source}/${x.stream}: expired ${x.expired} track record(s) observed before ${x.before} (raw data deleted, computed traits kept)`);
                      }, (err: unknown) => logger.error(`retention ${s.name} failed: ${errorMessage(err)}`));
                    }
                  })
                  .catch((err) => logger.error(`sync ${s.name} failed: ${errorMessage(err)}${nextRun(task)}`));
                track(p);
              },
              { name: `sync:${s.name}` },
            );
            tasks.push(task);
            logger.info(`scheduled sync ${s.name}`, { cron: s.schedule, next: task.getNextRun()?.toISOString() });
          }
          for (const d of engine.config.destinations) {
            if (typeof d.trigger !== 'object') continue;
            const task = cron.schedule(
              d.trigger.schedule,
              () => {
                logger.info(`destination ${d.name} started`);
                track(
                  engine
                    .deliverTo(d.name, controller.signal)
                    .then((r) => logger.info(`destination ${d.name} done: delivered ${r.delivered}, failed ${r.failed}${r.retried ? `, retried ${r.retried}` : ''}${nextRun(task)}`))
                    .catch((err) => logger.error(`destination ${d.name} failed: ${errorMessage(err)}${nextRun(task)}`)),
                );
              },
              { name: `deliver:${d.name}`, noOverlap: true },
            );
            tasks.push(task);
            logger.info(`scheduled destination ${d.name}`, { cron: d.trigger.schedule, next: task.getNextRun()?.toISOString() });
          }
          if (!tasks.length && !server) {
            logger.warn('nothing is scheduled: add `schedule:` to a source or `trigger: { schedule: ... }` to a destination');
            return;
          }
          await new Promise<void>((resolve) => {
            const stop = (signal: string) => {
              logger.info(`${signal}: finishing the current batch, then stopping`);
              controller.abort(signal);
              for (const t of tasks) void t.stop();
              void Promise.allSettled([...active, server?.close()]).then(() => resolve());
            };
            process.once('SIGTERM', () => stop('SIGTERM'));
            process.once('SIGINT', () => stop('SIGINT'));
          });
        });
      } catch (err) {
        reportError(err, !!globals(cmd).verbose);
      }
    });
}
