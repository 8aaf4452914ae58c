import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A record as the test API holds it. */
export interface ApiRecord {
  id: number;
  email: string;
  name: string;
  updated_at: string;
}

export type ApiAuth =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'api_key'; name: string; value: string; in: 'header' | 'query' }
  | { type: 'oauth2'; clientId: string; clientSecret: string; expiresIn: number };

/** One scripted answer, sent instead of the real one for the next request whose path matches. */
export interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoggedCall {
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
}

export interface ApiServer {
  url: string;
  records: ApiRecord[];
  calls: LoggedCall[];
  auth: ApiAuth;
  /** Queue answers for the `n`-th next request (0: the very next) matching `path`. */
  script(path: string, answers: Scripted[], after?: number): void;
  add(r: Omit<ApiRecord, 'id'> & { id?: number }): ApiRecord;
  /** OAuth2: tokens issued by `POST /oauth/token` so far. */
  tokensIssued(): number;
  /** OAuth2: every issued token stops working (answers 401). */
  revokeTokens(): void;
  close(): Promise<void>;
}

/**
 * A small paginated REST API over real HTTP, one endpoint per pagination style,
 * all filtering `updated_since` inclusively (>=, as many APIs do) and sorting by id:
 * - `/page?page=&per_page=` -> `{ data, total }`
 * - `/offset?offset=&limit=` -> `{ items, meta: { total } }`
 * - `/cursor?cursor=&limit=` -> `{ results, next_cursor }` (`next_cursor` null at the end)
 * - `/next?after=` -> `{ data, links: { next } }` (a relative next URL)
 * - `/link?after=` -> a bare list, `Link: <...>; rel="next"`
 * - `/html` -> a 200 text/html page
 */
export async function startApiServer(opts: { auth?: ApiAuth; records?: number; pageSize?: number } = {}): Promise<ApiServer> {
  const pageSize = opts.pageSize ?? 3;
  const records: ApiRecord[] = [];
  const calls: LoggedCall[] = [];
  const scripts = new Map<string, Array<Scripted | undefined>>();
  let nextId = 1;
  const tokens = new Set<string>();
  let issued = 0;
  const add = (r: Omit<ApiRecord, 'id'> & { id?: number }): ApiRecord => {
    const rec = { ...r, id: r.id ?? nextId++ };
    nextId = Math.max(nextId, rec.id + 1);
    records.push(rec);
    return rec;
  };
  for (let i = 0; i < (opts.records ?? 10); i++) {
    add({ email: `user${i + 1}@example.com`, name: `User ${i + 1}`, updated_at: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString() });
  }

  const authorized = (req: IncomingMessage, q: URLSearchParams, auth: ApiAuth): boolean => {
    switch (auth.type) {
      case 'none':
        return true;
      case 'bearer':
        return req.headers.authorization === `Bearer ${auth.token}`;
      case 'basic':
        return req.headers.authorization === `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
      case 'api_key':
        return auth.in === 'header' ? req.headers[auth.name.toLowerCase()] === auth.value : q.get(auth.name) === auth.value;
      case 'oauth2':
        return tokens.has(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    }
  };

  const server: ApiServer = {
    url: '',
    records,
    calls,
    auth: opts.auth ?? { type: 'none' },
    script(path, answers, after = 0) {
      const q = scripts.get(path) ?? [];
      while (q.length < after) q.push(undefined);
      q.splice(after, 0, ...answers);
      scripts.set(path, q);
    },
    add,
    tokensIssued: () => issued,
    revokeTokens: () => tokens.clear(),
    close: () =>
      new Promise((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };

  function issueToken(req: IncomingMessage, res: ServerResponse, form: URLSearchParams): void {
    const auth = server.auth;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    const [id, secret] = basic ? Buffer.from(basic[1], 'base64').toString().split(':').map(decodeURIComponent) : [form.get('client_id'), form.get('client_secret')];
    const ok = auth.type === 'oauth2' && form.get('grant_type') === 'client_credentials' && id === auth.clientId && secret === auth.clientSecret;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    if (!ok || auth.type !== 'oauth2') return void res.end(JSON.stringify({ error: 'invalid_client' }));
    const token = `at-${++issued}-${Math.random().toString(36).slice(2)}`;
    tokens.add(token);
    res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: auth.expiresIn }));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/oauth/token' && req.method === 'POST') {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => issueToken(req, res, new URLSearchParams(raw)));
      return;
    }
    const q = u.searchParams;
    const call: LoggedCall = { path: u.pathname, query: Object.fromEntries(q), headers: req.headers, status: 0 };
    calls.push(call);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
    const scripted = scripts.get(u.pathname)?.shift();
    if (scripted) {
      call.status = scripted.status;
      res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
      return void res.end(scripted.body ?? JSON.stringify({ error: `scripted ${scripted.status}` }));
    }
    if (!authorized(req, q, server.auth)) return send(401, { error: 'unauthorized' });
    if (u.pathname === '/html') {
      call.status = 200;
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('<!doctype html><html><body>Please log in</body></html>');
    }
    const since = q.get('updated_since');
    const matching = records
      .filter((r) => !since || Date.parse(r.updated_at) >= Date.parse(since))
      .sort((a, b) => a.id - b.id);
    const size = Number(q.get('per_page') ?? q.get('limit') ?? pageSize);
    switch (u.pathname) {
      case '/page': {
        const page = Number(q.get('page') ?? 1);
        return send(200, { data: matching.slice((page - 1) * size, page * size), total: matching.length });
      }
      case '/offset': {
        const offset = Number(q.get('offset') ?? 0);
        return send(200, { items: matching.slice(offset, offset + size), meta: { total: matching.length } });
      }
      case '/cursor': {
        const after = Number(q.get('cursor') ?? 0);
        const rows = matching.filter((r) => r.id > after).slice(0, size);
        const more = rows.length > 0 && matching.some((r) => r.id > rows[rows.length - 1].id);
        return send(200, { results: rows, next_cursor: more ? String(rows[rows.length - 1].id) : null });
      }
      case '/next':
      case '/link': {
        const after = Number(q.get('after') ?? 0);
        const rows = matching.filter((r) => r.id > after).slice(0, size);
        const more = rows.length > 0 && matching.some((r) => r.id > rows[rows.length - 1].id);
        const keep = new URLSearchParams(q);
        if (more) keep.set('after', String(rows[rows.length - 1].id));
        const next = more ? `${u.pathname}?${keep}` : null;
        if (u.pathname === '/next') return send(200, { data: rows, links: { next } });
        return send(200, rows, next ? { link: `<${server.url}${next}>; rel="next", <${server.url}${u.pathname}>; rel="first"` } : {});
      }
    }
    return send(404, { error: `no route ${u.pathname}` });
  }

  const http = createServer(handle);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  server.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return server;
}
