import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ServeConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../plugin/types.js';
import type { InboundRequest, InboundResponse, InboundRoute } from './contract.js';
import { readBody } from './body.js';
import { GroupCommitter, type GroupSink } from './group-commit.js';
import { serveMetrics, type ServeMetrics } from './metrics.js';
import { handleTracking, type WriteKeys } from './tracking/handler.js';
import { SEGMENT_LIMITS } from './tracking/segment.js';

/** What the server needs of the inbox: group-committed appends and a few probes. */
export interface InboxBackend extends GroupSink {
  backlog(): number;
  drainLagSeconds(): number;
  ping(): boolean;
  close(): void;
  /** Commits run on another thread (in order), which merges the groups queued to it: the server sends each loop turn's requests at once. */
  readonly threaded?: boolean;
  /** Set by the server on a threaded inbox: the size of each transaction the thread committed. */
  onCommit?: (events: number) => void;
}

export interface ServeOptions {
  config: ServeConfig;
  inbox: InboxBackend;
  keys: WriteKeys;
  /** Routes of sources whose connector implements `inbound`. */
  routes: InboundRoute[];
  logger: Logger;
}

/** A reply; `raw` is sent as it is (the metrics text), `body` as JSON. */
type Reply = InboundResponse & { raw?: string };

const TRACKING_PATH = /^\/v1\/(identify|track|page|screen|group|alias|batch|import)$/;

/** How often the backlog is counted again (it moves in other processes too: the drain). */
const BACKLOG_REFRESH_MS = 500;

/**
 * `tributary serve` on node:http: a handful of fixed routes, limits enforced
 * while reading, no framework layers between the socket and the inbox. The bench
 * compares with bare node:http and bare fastify 5 children: fastify's base costs
 * about 4 µs more per request (docs/benchmarks/serve.md, "node:http or fastify").
 * Handlers only authenticate, check and append to the inbox; the 2xx goes out
 * after the group commit.
 */
export class TributaryServer {
  readonly metrics: ServeMetrics;
  private readonly server: Server;
  private readonly committer: GroupCommitter;
  private readonly routes = new Map<string, InboundRoute>();
  private readonly sockets = new Set<Socket>();
  private backlog = 0;
  private backlogAt = 0;
  private eventsAtCount = 0;
  private inFlight = 0;
  private closing?: Promise<void>;

  constructor(private readonly opts: ServeOptions) {
    this.metrics = serveMetrics({ backlog: () => this.currentBacklog(true), drainLagSeconds: () => opts.inbox.drainLagSeconds() });
    this.committer = new GroupCommitter(opts.inbox, {
      maxEvents: opts.config.flushEvents,
      flushMs: opts.config.flushMs,
      // The writer thread merges whatever is queued to it into one transaction, so groups are not held here.
      maxInFlight: opts.inbox.threaded ? 1024 : 1,
      onCommit: opts.inbox.threaded ? undefined : (n) => this.metrics.commitEvents.observe(n),
    });
    if (opts.inbox.threaded) opts.inbox.onCommit = (n) => this.metrics.commitEvents.observe(n);
    for (const r of opts.routes) this.routes.set(`${r.method} ${r.path}`, r);
    const c = opts.config;
    this.server = createServer({ headersTimeout: c.headersTimeoutMs, requestTimeout: c.requestTimeoutMs, keepAliveTimeout: c.keepAliveTimeoutMs, maxHeaderSize: 16 * 1024,
      // Node checks the header and request timeouts on this interval (30 s by default): slow clients would outlive their timeout.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(c.headersTimeoutMs / 4))) }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    // A malformed request line or a header timeout: answer if the socket can still take it, never throw.
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      if (socket.writable) socket.end(`HTTP/1.1 ${err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request'}\r\nConnection: close\r\n\r\n`);
      else socket.destroy();
    });
  }

  async listen(port = this.opts.config.port, host = this.opts.config.host): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  private currentBacklog(fresh = false): number {
    const now = Date.now();
    if (fresh || now - this.backlogAt > BACKLOG_REFRESH_MS) {
      this.backlogAt = now;
      try {
        this.backlog = this.opts.inbox.backlog();
        this.eventsAtCount = this.committer.stats.events;
      } catch {
        // Keep the last count; /readyz reports the store itself.
      }
    }
    // Committed since the last count, plus waiting for the next commit.
    return this.backlog + (this.committer.stats.events - this.eventsAtCount) + this.committer.pending;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    this.inFlight++;
    const path = (req.url ?? '/').split('?')[0];
    let route = 'unknown';
    let out: Reply;
    try {
      ({ route, out } = await this.dispatch(req, path));
    } catch (err) {
      route = route === 'unknown' ? path : route;
      this.opts.logger.error('request failed', { method: req.method, path, error: errorMessage(err) });
      out = { status: 503, headers: { 'retry-after': '1' }, body: { error: 'the event could not be stored; retry' } };
    }
    const body = out.raw ?? (out.body === undefined ? '' : JSON.stringify(out.body));
    const headers: Record<string, string> = { 'content-type': out.body === undefined ? 'text/plain' : 'application/json', ...out.headers };
    if (this.closing || !req.complete) headers.connection = 'close';
    res.writeHead(out.status, headers);
    res.end(body);
    // A request whose body was refused unread must not leave its bytes to be read as the next request.
    if (!req.complete) res.once('finish', () => req.socket.destroy());
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    this.metrics.requests.inc({ route, status: String(out.status) });
    this.metrics.latency.observe({ route }, ms / 1000);
    this.inFlight--;
    // Never headers, never the body: write keys and personal data live there.
    this.opts.logger.debug('request', { method: req.method, route, status: out.status, ms: Math.round(ms * 100) / 100, bytes: Number(req.headers['content-length'] ?? 0) });
  }

  private async dispatch(req: IncomingMessage, path: string): Promise<{ route: string; out: Reply }> {
    if (req.method === 'GET' && path === '/healthz') return { route: path, out: { status: 200, body: { ok: true } } };
    if (req.method === 'GET' && path === '/readyz') return { route: path, out: this.ready() };
    if (req.method === 'GET' && path === '/metrics') {
      return { route: path, out: { status: 200, headers: { 'content-type': this.metrics.registry.contentType }, raw: await this.metrics.registry.metrics() } };
    }
    const custom = this.routes.get(`${req.method} ${path}`);
    const tracking = req.method === 'POST' && TRACKING_PATH.test(path) && this.opts.keys.size > 0;
    if (!custom && !tracking) return { route: 'unknown', out: { status: 404, body: { error: 'not found' } } };
    const route = path;
    if (this.closing) return { route, out: { status: 503, headers: { 'retry-after': '1' }, body: { error: 'shutting down' } } };
    if (this.currentBacklog() >= this.opts.config.inboxBound) {
      return { route, out: { status: 503, headers: { 'retry-after': '5' }, body: { error: 'the inbox is full; retry later' } } };
    }
    const limit = custom ? (custom.maxBodyBytes ?? this.opts.config.maxBodyBytes) : SEGMENT_LIMITS.batchBytes;
    const read = await readBody(req, limit);
    if (!read.ok) return { route, out: { status: read.status, body: { error: read.error } } };
    const inbound: InboundRequest = { method: req.method ?? 'POST', path, headers: lowerHeaders(req), rawBody: read.body };
    if (custom) return { route, out: await custom.handle(inbound, this.committer) };
    return { route, out: await handleTracking(inbound, { keys: this.opts.keys, inbox: this.committer, metrics: this.metrics }) };
  }

  private ready(): InboundResponse {
    let store = false;
    try {
      store = this.opts.inbox.ping();
    } catch {
      store = false;
    }
    const backlog = store ? this.currentBacklog(true) : -1;
    const ok = store && backlog < this.opts.config.inboxBound;
    return { status: ok ? 200 : 503, body: { ok, store, backlog, bound: this.opts.config.inboxBound } };
  }

  /** Stop accepting, let in-flight requests finish, commit what waits, close the inbox. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      const deadline = Date.now() + 10_000;
      while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      await this.committer.close();
      this.server.closeIdleConnections();
      for (const s of this.sockets) if (Date.now() >= deadline) s.destroy();
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 2000))]);
      for (const s of this.sockets) s.destroy();
      this.opts.inbox.close();
    })();
    return this.closing;
  }
}

function lowerHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}
