import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DelayedError, type Job } from 'bullmq';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ProfileStore } from '../store/types.js';

/**
 * Prometheus metrics of one worker process, on a registry of its own, every
 * series labelled with the worker's id (`host:pid:tag`, the id its store leases
 * and BullMQ jobs show), so a dashboard can tell workers apart and sum them.
 */
export function workerMetrics(workerId: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ worker: workerId });
  const registers = [registry];
  const completed = new Counter({ name: 'tributary_jobs_completed_total', help: 'Queue jobs this worker finished, by kind (sync, deliver, tick)', labelNames: ['kind'], registers });
  const failed = new Counter({ name: 'tributary_jobs_failed_total', help: 'Queue jobs that failed in this worker, by kind', labelNames: ['kind'], registers });
  const handedBack = new Counter({
    name: 'tributary_jobs_handed_back_total',
    help: 'Jobs put back on the queue (stopped part way on SIGTERM, or held by another worker), by kind',
    labelNames: ['kind'],
    registers,
  });
  const running = new Map<string, number>();
  new Gauge({
    name: 'tributary_jobs_active',
    help: 'Queue jobs running in this worker now, by kind',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const kind of ['sync', 'deliver', 'tick']) this.set({ kind }, running.get(kind) ?? 0);
    },
  });
  const records = new Counter({ name: 'tributary_records_synced_total', help: 'Source records committed to the store by this worker, by source', labelNames: ['source'], registers });
  const commitSeconds = new Histogram({
    name: 'tributary_batch_commit_seconds',
    help: 'Time of one batch commit to the store (records, graph, profiles, outbox, checkpoint in one transaction)',
    labelNames: ['source'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  /** Counts a job processor's jobs: active while it runs, then completed, failed or handed back. */
  function instrument<D extends { kind?: string }, R>(kindOf: (job: Job<D>) => string, processor: (job: Job<D>, token?: string) => Promise<R>) {
    return async (job: Job<D>, token?: string): Promise<R> => {
      const kind = kindOf(job);
      running.set(kind, (running.get(kind) ?? 0) + 1);
      try {
        const r = await processor(job, token);
        completed.inc({ kind });
        return r;
      } catch (err) {
        if (err instanceof DelayedError) handedBack.inc({ kind });
        else failed.inc({ kind });
        throw err;
      } finally {
        running.set(kind, (running.get(kind) ?? 1) - 1);
      }
    };
  }

  /**
   * Times the store's batch commits and counts their records. The engine has no
   * commit hook of its own, so the worker wraps the commit of the store it was
   * booted with (its one store, for the life of the process).
   */
  function observeCommits(store: Pick<ProfileStore, 'commitBatch' | 'commitPipeline'>): void {
    const commit = store.commitBatch.bind(store);
    store.commitBatch = async (batch) => {
      const end = commitSeconds.startTimer({ source: batch.sync });
      await commit(batch);
      end();
      records.inc({ source: batch.sync }, batch.records.length);
    };
    // With a commit thread the engine hands batches to it instead: timed from hand-over to COMMIT.
    const pipeline = store.commitPipeline?.();
    if (pipeline) {
      const submit = pipeline.submit.bind(pipeline);
      pipeline.submit = (batch, base) => {
        const end = commitSeconds.startTimer({ source: batch.sync });
        const done = submit(batch, base);
        done.then(() => {
          end();
          records.inc({ source: batch.sync }, batch.records.length);
        }, () => undefined);
        return done;
      };
    }
  }

  return { registry, completed, failed, handedBack, records, commitSeconds, instrument, observeCommits };
}

export type WorkerMetrics = ReturnType<typeof workerMetrics>;

/** Serves `GET /metrics` (Prometheus text format) and nothing else. Port 0 picks a free one (tests). */
export async function serveWorkerMetrics(registry: Registry, opts: { port: number; host?: string }): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
