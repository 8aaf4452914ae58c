import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one server, on its own registry (several servers in one test process do not clash). */
export function serveMetrics(probe: { backlog(): number; drainLagSeconds(): number }) {
  const registry = new Registry();
  const requests = new Counter({ name: 'tributary_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [registry] });
  const latency = new Histogram({
    name: 'tributary_http_request_seconds',
    help: 'Time from the request to the reply',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const eventsAccepted = new Counter({ name: 'tributary_events_accepted_total', help: 'Events stored in the inbox', labelNames: ['source'], registers: [registry] });
  const eventsDuplicate = new Counter({ name: 'tributary_events_duplicate_total', help: 'Events already stored (same messageId)', labelNames: ['source'], registers: [registry] });
  const eventsRefused = new Counter({ name: 'tributary_events_refused_total', help: 'Events refused, by status or reason', labelNames: ['reason'], registers: [registry] });
  const commitEvents = new Histogram({
    name: 'tributary_inbox_commit_events',
    help: 'Events per inbox commit (group commit: one fsync covers them all)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096],
    registers: [registry],
  });
  new Gauge({
    name: 'tributary_inbox_backlog',
    help: 'Inbox rows not yet drained into profiles',
    registers: [registry],
    collect() {
      this.set(probe.backlog());
    },
  });
  new Gauge({
    name: 'tributary_inbox_drain_lag_seconds',
    help: 'Age of the oldest event not yet drained',
    registers: [registry],
    collect() {
      this.set(probe.drainLagSeconds());
    },
  });
  return { registry, requests, latency, eventsAccepted, eventsDuplicate, eventsRefused, commitEvents };
}

export type ServeMetrics = ReturnType<typeof serveMetrics>;
