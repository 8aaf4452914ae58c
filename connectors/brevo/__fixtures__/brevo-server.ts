import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { BrevoState, err, type Answer, type IdentifierType, type StoredContact } from './brevo-state.js';
import { createRng } from '../../../bench/quality/prng.js';

/** The seeded generator the quality benchmark uses (mulberry32), so fault runs repeat. */
const seededRandom = (seed: number): (() => number) => createRng(seed).next;

export type { StoredContact } from './brevo-state.js';

/** A fault the server can answer with instead of doing the work. `html`: a 502 page from a "proxy". */
export type FaultKind = '429' | '500' | 'hang' | 'drop' | 'html';

export interface BrevoServerOptions {
  /** The key requests must carry in `api-key`. Default: a random `xkeysib-test-...`. */
  apiKey?: string;
  /** Attribute names the account declares, beyond Brevo's built-ins (EMAIL, SMS, FIRSTNAME, LASTNAME, ...). Others are refused (400 invalid_parameter). */
  attributes?: string[];
  /** List ids that exist. Default [1, 2, 3]. */
  lists?: number[];
  /** An import is `queued`, then `in_process` after half of this, `completed` (and applied) after all of it. Default 30 ms. */
  importDelayMs?: number;
  /**
   * Brevo's limits, per sliding window: `perSecond` on /v3/contacts* and on /v3/events
   * (each its own budget), `processesPerHour` on /v3/processes. Past them: 429 with
   * x-sib-ratelimit-limit/-remaining/-reset. Default 10 and 100; `false` turns the limiter off.
   */
  rateLimit?: false | { perSecond?: number; processesPerHour?: number };
  /** Answer a seeded random share (`rate`, 0..1) of /v3 requests whose path matches `paths` with one of `kinds`. */
  faults?: { seed: number; rate: number; kinds: FaultKind[]; paths?: RegExp };
  /** Largest `jsonBody` an import accepts, in bytes of JSON. Default 10 MB, as documented. */
  maxJsonBodyBytes?: number;
}

/** One request as the server saw it. `status` 0: dropped or left hanging (`fault` says which). */
export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  status: number;
  at: number;
  fault?: FaultKind;
  /** The parsed JSON body, when the request had one. */
  body?: unknown;
}

export interface ReceivedEvent {
  event_name: string;
  event_date?: string;
  identifiers: Record<string, unknown>;
  event_properties?: Record<string, unknown>;
  contact_properties?: Record<string, unknown>;
}

/** A running contract server. Read state directly; nothing here goes over HTTP. */
export interface BrevoServer {
  /** API root to put in `baseUrl`: `http://127.0.0.1:<port>/v3`. */
  readonly url: string;
  readonly apiKey: string;
  /** Accounts state: contacts, declared attributes (`state.attributes.add('PLAN')`), lists, undeletable contacts. */
  readonly state: BrevoState;
  contacts(): StoredContact[];
  contactByEmail(email: string): StoredContact | undefined;
  contactByExtId(extId: string): StoredContact | undefined;
  contactBySms(sms: string): StoredContact | undefined;
  readonly events: ReceivedEvent[];
  readonly requests: LoggedRequest[];
  /** Number of 429 answers so far (limiter and injected). */
  count429(): number;
  /** Answer the next `count` /v3 requests whose path matches `path` with `kind` (before auth and the limiter). */
  failNext(kind: FaultKind, opts?: { count?: number; path?: RegExp }): void;
  /** Make DELETE of this contact answer 405 (`type` as in `identifierType`). */
  refuseDelete(type: IdentifierType, identifier: string): void;
  close(): Promise<void>;
}

const IDENTIFIER_TYPES = new Set(['email_id', 'ext_id', 'phone_id', 'contact_id']);
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;


/** Sliding-window limiter: at most `limit` requests in any `windowMs`. */
class Window {
  private readonly times: number[] = [];
  constructor(readonly limit: number, readonly windowMs: number) {}
  admit(now: number): { ok: boolean; remaining: number; resetS: number } {
    while (this.times.length && this.times[0] <= now - this.windowMs) this.times.shift();
    const resetS = this.times.length ? Math.max(1, Math.ceil((this.times[0] + this.windowMs - now) / 1000)) : Math.ceil(this.windowMs / 1000);
    if (this.times.length >= this.limit) return { ok: false, remaining: 0, resetS };
    this.times.push(now);
    return { ok: true, remaining: this.limit - this.times.length, resetS };
  }
}

function budgetOf(path: string): 'contacts' | 'events' | 'processes' | undefined {
  if (path.startsWith('/v3/contacts')) return 'contacts';
  if (path.startsWith('/v3/events')) return 'events';
  if (path.startsWith('/v3/processes')) return 'processes';
  return undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_REQUEST_BYTES ? 'too_large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Start a Brevo API v3 contract server on 127.0.0.1 (a free port). It follows
 * the documented contract and refuses what Brevo refuses; see the README's
 * "Verified against" section for what it models and what it does not.
 *
 * @example
 * const brevo = await startBrevoServer({ attributes: ['PLAN'], importDelayMs: 20 });
 * const config = { apiKey: brevo.apiKey, baseUrl: brevo.url, listIds: [1] };
 * // ... deliver ...
 * expect(brevo.contactByEmail('a@example.com')?.attributes.PLAN).toBe('pro');
 * await brevo.close();
 */
export async function startBrevoServer(opts: BrevoServerOptions = {}): Promise<BrevoServer> {
  const apiKey = opts.apiKey ?? `xkeysib-test-${randomBytes(12).toString('hex')}`;
  const state = new BrevoState(opts.attributes ?? [], opts.lists ?? [1, 2, 3]);
  const importDelayMs = opts.importDelayMs ?? 30;
  const maxJsonBody = opts.maxJsonBodyBytes ?? 10 * 1024 * 1024;
  const limits = opts.rateLimit === false ? undefined : { perSecond: opts.rateLimit?.perSecond ?? 10, processesPerHour: opts.rateLimit?.processesPerHour ?? 100 };
  const windows = limits && {
    contacts: new Window(limits.perSecond, 1000),
    events: new Window(limits.perSecond, 1000),
    processes: new Window(limits.processesPerHour, 3_600_000),
  };
  const random = opts.faults ? seededRandom(opts.faults.seed) : undefined;
  const queued: Array<{ kind: FaultKind; left: number; path?: RegExp }> = [];
  const events: ReceivedEvent[] = [];
  const requests: LoggedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const processes = new Map<number, { status: 'queued' | 'in_process' | 'completed'; report?: Map<string, Array<Record<string, unknown>>> }>();
  let nextProcess = 1;
  let origin = '';

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  function pickFault(path: string): FaultKind | undefined {
    const q = queued.find((f) => f.left > 0 && (!f.path || f.path.test(path)));
    if (q) {
      q.left--;
      return q.kind;
    }
    const f = opts.faults;
    if (f && random && (!f.paths || f.paths.test(path)) && random() < f.rate) return f.kinds[Math.floor(random() * f.kinds.length)];
    return undefined;
  }

  function startImport(body: Record<string, unknown>): Answer {
    const sources = ['jsonBody', 'fileBody', 'fileUrl'].filter((k) => body[k] !== undefined);
    if (sources.length === 0) return err(400, 'missing_parameter', 'One of fileUrl, fileBody or jsonBody is required');
    if (sources.length > 1) return err(400, 'invalid_parameter', 'Only one of fileUrl, fileBody or jsonBody may be given');
    if (body.listIds === undefined && body.newList === undefined) return err(400, 'missing_parameter', 'listIds is required when newList is not given');
    if (!Array.isArray(body.jsonBody)) return err(400, 'invalid_parameter', 'This contract server imports jsonBody arrays only');
    if (Buffer.byteLength(JSON.stringify(body.jsonBody), 'utf8') > maxJsonBody) return err(400, 'invalid_parameter', 'Maximum allowed json body size is 10MB');
    const listIds = (body.listIds ?? []) as number[];
    const unknown = listIds.find((l) => !state.lists.has(l));
    if (unknown !== undefined) return err(400, 'invalid_parameter', `List ID ${unknown} does not exist`);
    const id = nextProcess++;
    const proc: { status: 'queued' | 'in_process' | 'completed'; report?: Map<string, Array<Record<string, unknown>>> } = { status: 'queued' };
    processes.set(id, proc);
    later(importDelayMs / 2, () => (proc.status = 'in_process'));
    later(importDelayMs, () => {
      proc.report = state.runImport({
        jsonBody: body.jsonBody as Array<Record<string, unknown>>,
        listIds,
        updateExistingContacts: body.updateExistingContacts !== false,
        emptyContactsAttributes: body.emptyContactsAttributes === true,
        emailBlacklist: body.emailBlacklist === true,
        smsBlacklist: body.smsBlacklist === true,
      });
      proc.status = 'completed';
    });
    return { status: 202, body: { processId: id } };
  }

  function getProcess(id: number): Answer {
    const p = processes.get(id);
    if (!p) return err(404, 'document_not_found', 'Process does not exist');
    const out: Record<string, unknown> = { id, name: 'IMPORTUSER', status: p.status };
    if (p.status === 'completed' && p.report) {
      const urls: Record<string, string> = {};
      for (const kind of p.report.keys()) urls[`${kind}_url`] = `${origin}/reports/${id}/${kind}.csv`;
      out.info = { import: urls };
    }
    return { status: 200, body: out };
  }

  function reportCsv(id: number, kind: string): string | undefined {
    const rows = processes.get(id)?.report?.get(kind);
    if (!rows) return undefined;
    const cell = (v: unknown) => (v === undefined ? '' : String(v).replace(/;/g, ','));
    const lines = rows.map((r) => {
      const a = (r.attributes ?? {}) as Record<string, unknown>;
      return [cell(r.email), cell(a.EXT_ID), cell(a.SMS)].join(';');
    });
    return ['EMAIL;EXT_ID;SMS', ...lines].join('\n') + '\n';
  }

  function route(method: string, path: string, query: URLSearchParams, body: unknown): Answer {
    const b = (body ?? {}) as Record<string, unknown>;
    if (method === 'GET' && path === '/v3/account') return { status: 200, body: { email: 'owner@example.com', companyName: 'Brevo contract server', plan: [{ type: 'free', credits: 300, creditsType: 'sendLimit' }] } };
    if (method === 'GET' && path === '/v3/contacts') return state.listContacts(query);
    if (method === 'POST' && path === '/v3/contacts') return state.createContact(body);
    if (method === 'POST' && path === '/v3/contacts/batch') return state.batchUpdate(body);
    if (method === 'POST' && path === '/v3/contacts/import') return startImport(b);
    if (method === 'POST' && path === '/v3/events') return receiveEvent(b);
    const proc = /^\/v3\/processes\/(\d+)$/.exec(path);
    if (method === 'GET' && proc) return getProcess(Number(proc[1]));
    const one = /^\/v3\/contacts\/([^/]+)$/.exec(path);
    if (one) {
      const identifier = decodeURIComponent(one[1]);
      const given = query.get('identifierType');
      if (given !== null && !IDENTIFIER_TYPES.has(given)) return err(400, 'invalid_parameter', 'identifierType is not valid');
      const type = (given ?? (identifier.includes('@') ? 'email_id' : /^\d+$/.test(identifier) ? 'contact_id' : 'ext_id')) as IdentifierType;
      if (method === 'GET') return state.getContact(type, identifier);
      if (method === 'PUT') return state.updateContact(type, identifier, body);
      if (method === 'DELETE') return state.deleteContact(type, identifier);
    }
    return err(404, 'not_found', `No route ${method} ${path}`);
  }

  function receiveEvent(b: Record<string, unknown>): Answer {
    const name = b.event_name;
    if (typeof name !== 'string' || name.length === 0) return err(400, 'missing_parameter', 'event_name is required');
    if (name.length > 255 || !/^[A-Za-z0-9_-]+$/.test(name)) return err(400, 'invalid_parameter', 'event_name must be at most 255 alphanumeric characters, - or _');
    const ids = b.identifiers as Record<string, unknown> | undefined;
    const known = ['contact_id', 'email_id', 'ext_id', 'landline_number_id', 'phone_id', 'whatsapp_id'];
    if (!ids || typeof ids !== 'object' || !known.some((k) => ids[k] !== undefined && ids[k] !== '')) return err(400, 'missing_parameter', 'identifiers must hold at least one identifier');
    if (b.event_date !== undefined && (typeof b.event_date !== 'string' || Number.isNaN(Date.parse(b.event_date)))) return err(400, 'invalid_parameter', 'event_date is not a valid date');
    if (b.event_properties !== undefined && Buffer.byteLength(JSON.stringify(b.event_properties), 'utf8') > 50 * 1024) return err(400, 'invalid_parameter', 'event_properties exceeds 50KB');
    events.push(b as unknown as ReceivedEvent);
    return { status: 204 };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const entry: LoggedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.search, status: 0, at: Date.now() };
    requests.push(entry);
    const send = (a: Answer, headers: Record<string, string> = {}) => {
      entry.status = a.status;
      const text = a.body === undefined ? '' : JSON.stringify(a.body);
      res.writeHead(a.status, { ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...headers });
      res.end(text);
    };
    const raw = await readBody(req);
    const report = /^\/reports\/(\d+)\/([a-z_]+)\.csv$/.exec(url.pathname);
    if (report && req.method === 'GET') {
      const csv = reportCsv(Number(report[1]), report[2]);
      entry.status = csv === undefined ? 404 : 200;
      res.writeHead(entry.status, { 'content-type': 'text/csv' });
      res.end(csv ?? '');
      return;
    }
    const fault = url.pathname.startsWith('/v3/') ? pickFault(url.pathname) : undefined;
    if (fault) {
      entry.fault = fault;
      if (fault === 'drop') return void req.socket.destroy();
      if (fault === 'hang') return;
      if (fault === 'html') {
        entry.status = 502;
        res.writeHead(502, { 'content-type': 'text/html' });
        return void res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      }
      if (fault === '429') return send(err(429, 'too_many_requests', 'The expected rate limit is exceeded.'), { 'x-sib-ratelimit-limit': '10', 'x-sib-ratelimit-remaining': '0', 'x-sib-ratelimit-reset': '1' });
      return send(err(500, 'internal_error', 'Internal server error'));
    }
    if (url.pathname.startsWith('/v3/') && req.headers['api-key'] !== apiKey) return send(err(401, 'unauthorized', 'Key not found'));
    const budget = budgetOf(url.pathname);
    if (windows && budget) {
      const w = windows[budget].admit(Date.now());
      const headers = { 'x-sib-ratelimit-limit': String(windows[budget].limit), 'x-sib-ratelimit-remaining': String(w.remaining), 'x-sib-ratelimit-reset': String(w.resetS) };
      if (!w.ok) return send(err(429, 'too_many_requests', 'The expected rate limit is exceeded.'), headers);
      res.setHeader('x-sib-ratelimit-limit', headers['x-sib-ratelimit-limit']);
      res.setHeader('x-sib-ratelimit-remaining', headers['x-sib-ratelimit-remaining']);
      res.setHeader('x-sib-ratelimit-reset', headers['x-sib-ratelimit-reset']);
    }
    if (raw === 'too_large') return send(err(413, 'document_too_large', 'Request entity too large'));
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return send(err(400, 'bad_request', 'Malformed JSON body'));
      }
    }
    if (body !== undefined) entry.body = body;
    send(route(req.method ?? 'GET', url.pathname, url.searchParams, body));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'internal_error', message: String(e) }));
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: `${origin}/v3`,
    apiKey,
    state,
    contacts: () => state.all(),
    contactByEmail: (e) => state.byEmailAddress(e),
    contactByExtId: (id) => state.byExternalId(id),
    contactBySms: (s) => state.byPhone(s),
    events,
    requests,
    count429: () => requests.filter((r) => r.status === 429).length,
    failNext(kind, o = {}) {
      queued.push({ kind, left: o.count ?? 1, path: o.path });
    },
    refuseDelete(type, identifier) {
      state.undeletable.add(`${type}:${identifier}`);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
