import { Command } from 'commander';
import cron from 'node-cron';
import { errorMessage } from '../../errors.js';
import { globals, reportError, withEngine } from '../shared.js';

/** The daemon: every source and scheduled destination on its cron, until SIGTERM. */
export function runCommand(): Command {
  return new Command('run')
    .description('Run syncs on their schedules until stopped; SIGTERM finishes the current batch, commits and exits')
    .action(async (_opts: unknown, cmd: Command) => {
      try {
        await withEngine(cmd, async ({ engine, logger }) => {
          const controller = new AbortController();
          const tasks: Array<{ stop(): void | Promise<void> }> = [];
          const active = new Set<Promise<unknown>>();
          const track = (p: Promise<unknown>) => {
            active.add(p);
            void p.finally(() => active.delete(p));
          };
          for (const s of engine.config.sources) {
            if (!s.schedule) continue;
            tasks.push(
              cron.schedule(
                s.schedule,
                () => {
                  // Engine.runSync skips a sync that is still running, so runs never overlap.
                  const p = engine
                    .runSync(s.name, { signal: controller.signal })
                    .then((o) => {
                      if (o.ok && !o.skipped) logger.info(`sync ${s.name} done`, { run: o.runId });
                      else if (!o.ok) logger.error(`sync ${s.name} failed: ${o.error}`);
                    })
                    .catch((err) => logger.error(`sync ${s.name} failed: ${errorMessage(err)}`));
                  track(p);
                },
                { name: `sync:${s.name}` },
              ),
            );
            logger.info(`scheduled sync ${s.name}`, { cron: s.schedule });
          }
          for (const d of engine.config.destinations) {
            if (typeof d.trigger !== 'object') continue;
            tasks.push(
              cron.schedule(
                d.trigger.schedule,
                () => track(engine.deliverTo(d.name, controller.signal).catch((err) => logger.error(`destination ${d.name} failed: ${errorMessage(err)}`))),
                { name: `deliver:${d.name}`, noOverlap: true },
              ),
            );
            logger.info(`scheduled destination ${d.name}`, { cron: d.trigger.schedule });
          }
          if (!tasks.length) {
            logger.warn('nothing is scheduled: add `schedule:` to a source or `trigger: { schedule: ... }` to a destination');
            return;
          }
          await new Promise<void>((resolve) => {
            const stop = (signal: string) => {
              logger.info(`${signal}: finishing the current batch, then stopping`);
              controller.abort();
              for (const t of tasks) void t.stop();
              void Promise.allSettled([...active]).then(() => resolve());
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
